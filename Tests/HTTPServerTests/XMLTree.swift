import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import HTTPServer

/// One XMLParser at a time in the test process.
enum XMLParsing {
    static let lock = NSLock()
}

/// A parsed XML element (test helper): parsing with Foundation's XMLParser proves the document is well-formed.
final class XMLNode {
    let name: String
    let attributes: [String: String]
    var children: [XMLNode] = []
    var text = ""

    init(name: String, attributes: [String: String]) {
        self.name = name
        self.attributes = attributes
    }

    /// Children named `name`.
    func all(_ name: String) -> [XMLNode] { children.filter { $0.name == name } }
    func first(_ name: String) -> XMLNode? { children.first { $0.name == name } }
    /// The trimmed text of the first child named `name`.
    func value(_ name: String) -> String? { first(name)?.text.trimmingCharacters(in: .whitespacesAndNewlines) }

    /// Every element in the tree, depth first.
    var descendants: [XMLNode] { children.flatMap { [$0] + $0.descendants } }

    /// The root element, or nil when the text is not well-formed XML.
    ///
    /// libxml2 behind swift-corelibs-foundation's XMLParser is not safe on several threads at once, and crashed the test
    /// process (Illegal instruction in `_NSXMLParserStartElementNs`) even with parses serialized on the cooperative pool:
    /// each parse runs alone, on a Foundation thread of its own.
    static func parse(_ text: String) -> XMLNode? {
        XMLParsing.lock.withLock {
            let done = DispatchSemaphore(value: 0)
            let result = ParseResult()
            let thread = Thread {
                let builder = Builder()
                let parser = XMLParser(data: Data(text.utf8))
                parser.delegate = builder
                result.root = parser.parse() ? builder.root : nil
                done.signal()
            }
            thread.start()
            done.wait()
            return result.root
        }
    }

    private final class ParseResult: @unchecked Sendable {  // written by the parsing thread before it signals
        var root: XMLNode?
    }

    private final class Builder: NSObject, XMLParserDelegate {
        var stack: [XMLNode] = []
        var root: XMLNode?

        func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            let node = XMLNode(name: elementName, attributes: attributes)
            stack.last?.children.append(node)
            if root == nil { root = node }
            stack.append(node)
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
            stack.removeLast()
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            stack.last?.text += string
        }
    }
}
