import MailCore
import Testing

/// Inputs the mutation test found: each once made the tokenizer loop without advancing.
@Suite struct AddressRobustnessTests {
    @Test(arguments: ["Bob <bob@ex)ample.org>, carol@example.net", ")", "a)b@c", "((x)) )@y", "\"q\")@z"])
    func unbalancedParenthesesTerminate(_ text: String) {
        let entries = AddressParser.parseList(text)
        #expect(entries.count <= text.utf8.count + 1)
    }

    @Test func validAddressAfterAStrayParenthesisStillParses() {
        let entries = AddressParser.parseList("Bob <bob@ex)ample.org>, carol@example.net")
        let valid = entries.compactMap { entry -> String? in
            if case .mailbox(let mailbox) = entry, mailbox.isValid { return mailbox.addressText }
            return nil
        }
        #expect(valid.contains("carol@example.net"))
    }
}
