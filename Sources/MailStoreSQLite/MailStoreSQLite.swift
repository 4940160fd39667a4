// MailStoreSQLite
