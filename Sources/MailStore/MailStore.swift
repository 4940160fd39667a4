// MailStore
