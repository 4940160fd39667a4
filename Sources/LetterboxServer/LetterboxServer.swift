// LetterboxServer
