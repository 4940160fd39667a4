import Testing
// ServerCore tests land with the servercore branch once they compile.
