/// libFuzzer target: reading the configuration file — TOML parsing (TOMLKit) and the reader that turns its values into
/// `LetterboxConfiguration` (types, ranges, sizes, listen addresses, unknown keys). ConfigurationFile.swift and
/// LetterboxConfiguration.swift are LetterboxServer's own files, symlinked here: they use only MailCore and TOMLKit,
/// so the target does not have to link every server module.
///
/// Input: the configuration text. Checks: every listen address of a configuration read prints (`description`) as text
/// that reads back as the same address; a size reads back from its value in bytes.
import MailCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let configuration = try? LetterboxConfiguration.parse(toml: text) {
        for address in configuration.listeners.values {
            guard ListenAddress(address.description) == address else {
                fatalError("listen address \(address) prints as \(address.description), which reads back as \(ListenAddress(address.description) as Any)")
            }
        }
    }
    for line in text.split(separator: "\n").prefix(8) {
        if let address = ListenAddress(String(line)), ListenAddress(address.description) != address {
            fatalError("listen address \(line.debugDescription) prints as \(address.description.debugDescription)")
        }
        if let bytes = LetterboxConfiguration.parseSize(String(line)), LetterboxConfiguration.parseSize(String(bytes)) != bytes {
            fatalError("size \(line.debugDescription) is \(bytes) bytes, which reads back differently")
        }
    }
    return 0
}
