// MailTestSupport
