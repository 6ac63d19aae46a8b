#include "controller/touch_file.hpp"

#include <vector>

#include <yaml-cpp/yaml.h>
#include <boost/system/errc.hpp>

#include "crd/pod_session.hpp"
#include "crd/yaml_load.hpp"

namespace podsession::controller {
namespace {

// The lines of one document, its `---` separator line included.
struct document_span {
    std::vector<std::string> lines;
    // Set when the document was written anew instead of edited line by line.
    std::vector<std::string> rewritten_lines;
};

bool is_separator(std::string_view line) {
    if (!line.starts_with("---")) {
        return false;
    }
    const auto rest = line.substr(3);
    return rest.empty() || rest.front() == ' ' || rest.front() == '\t' || rest.front() == '\r';
}

std::vector<document_span> split_documents(std::string_view text) {
    std::vector<document_span> documents(1);
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto end = text.find('\n', pos);
        if (end == std::string_view::npos) {
            end = text.size();
        }
        const std::string line{text.substr(pos, end - pos)};
        if (is_separator(line)) {
            documents.push_back({});
        }
        documents.back().lines.push_back(line);
        pos = end + 1;
    }
    return documents;
}

std::string join_lines(const std::vector<std::string>& lines) {
    std::string text;
    for (const auto& line : lines) {
        text += line;
        text += '\n';
    }
    return text;
}

bool is_block_map(const YAML::Node& node) {
    return node.IsMap() && node.Style() != YAML::EmitterStyle::Flow;
}

std::size_t first_key_column(const YAML::Node& map) {
    for (const auto& entry : map) {
        return static_cast<std::size_t>(entry.first.Mark().column);
    }
    return 0;
}

// Whether a line index taken from a node's mark may be used to edit the lines.
// Marks of malformed input can point past the end.
bool within(const document_span& document, int line, bool insert) {
    const auto size = static_cast<int>(document.lines.size());
    return line >= 0 && (insert ? line <= size : line < size);
}

// Edits the lines of one document. Returns false when a flow-style mapping is in
// the way, or the marks do not fit the lines.
bool edit_lines(document_span& document, const YAML::Node& root, const std::string& value) {
    // Marks count lines from the first line of the text yaml-cpp parsed, which is
    // the document's first line here.
    const YAML::Node metadata = root["metadata"];
    if (!is_block_map(metadata)) {
        return false;
    }
    const auto annotation = std::string{crd::touch_annotation};
    const YAML::Node annotations = metadata["annotations"];
    const std::string quoted = "\"" + value + "\"";

    if (annotations && annotations.IsMap() && annotations.size() > 0) {
        if (!is_block_map(annotations)) {
            return false;
        }
        for (const auto& entry : annotations) {
            if (entry.first.Scalar() != annotation) {
                continue;
            }
            const auto key_mark = entry.first.Mark();
            const auto value_mark = entry.second.Mark();
            if (value_mark.line != key_mark.line || !within(document, value_mark.line, false)) {
                return false;
            }
            auto& line = document.lines[static_cast<std::size_t>(value_mark.line)];
            if (value_mark.column < 0 ||
                static_cast<std::size_t>(value_mark.column) > line.size()) {
                return false;
            }
            line = line.substr(0, static_cast<std::size_t>(value_mark.column)) + quoted;
            return true;
        }
        const auto at = annotations.begin()->first.Mark().line;
        if (!within(document, at, true)) {
            return false;
        }
        const auto column = first_key_column(annotations);
        document.lines.insert(document.lines.begin() + at,
                              std::string(column, ' ') + annotation + ": " + quoted);
        return true;
    }
    if (annotations && !annotations.IsNull() && !(annotations.IsMap() && annotations.size() == 0)) {
        return false;
    }

    // No annotations yet, or an empty or null mapping: write a block of our own
    // under metadata, in place of the empty one if there is one.
    int at = metadata.begin()->first.Mark().line;
    if (annotations) {
        for (const auto& entry : metadata) {
            if (entry.first.Scalar() != "annotations") {
                continue;
            }
            at = entry.first.Mark().line;
            // The empty mapping must sit on the key's own line to be replaced.
            if (!within(document, at, false) || entry.second.Mark().line != at) {
                return false;
            }
            document.lines.erase(document.lines.begin() + at);
        }
    }
    if (!within(document, at, true)) {
        return false;
    }
    const std::string indent(first_key_column(metadata), ' ');
    document.lines.insert(document.lines.begin() + at,
                          {indent + "annotations:", indent + "  " + annotation + ": " + quoted});
    return true;
}

// Whether a parsed document is the PodSession `namespace_name/name`.
bool declares_session(const YAML::Node& root, std::string_view namespace_name,
                      std::string_view name) {
    if (!root.IsMap() || !root["metadata"].IsMap() || !root["kind"].IsScalar() ||
        root["kind"].Scalar() != crd::kind) {
        return false;
    }
    const auto metadata = root["metadata"];
    const YAML::Node document_namespace = metadata["namespace"];
    const std::string namespace_text = document_namespace && document_namespace.IsScalar()
                                           ? document_namespace.Scalar()
                                           : "default";
    const YAML::Node document_name = metadata["name"];
    return document_name && document_name.IsScalar() && document_name.Scalar() == name &&
           namespace_text == namespace_name;
}

// Writes the document anew through yaml-cpp's emitter, for flow-style metadata
// that leaves no line to edit. Returns false when annotations is something other
// than a mapping, which only the user can fix.
bool rewrite_document(document_span& document, YAML::Node root, const std::string& value) {
    const YAML::Node annotations = root["metadata"]["annotations"];
    if (annotations && !annotations.IsNull() && !annotations.IsMap()) {
        return false;
    }
    root["metadata"]["annotations"][std::string{crd::touch_annotation}] = value;
    YAML::Emitter out;
    out << root;

    const bool had_separator = !document.lines.empty() && is_separator(document.lines.front());
    std::vector<std::string> lines;
    if (had_separator) {
        lines.emplace_back("---");
    }
    const std::string emitted = out.c_str();
    std::size_t pos = 0;
    while (pos < emitted.size()) {
        auto end = emitted.find('\n', pos);
        if (end == std::string::npos) {
            end = emitted.size();
        }
        lines.push_back(emitted.substr(pos, end - pos));
        pos = end + 1;
    }
    document.lines = lines;
    document.rewritten_lines = std::move(lines);
    return true;
}

}  // namespace

boost::system::result<touch_edit> touch_session_text(std::string_view text,
                                                     std::string_view namespace_name,
                                                     std::string_view name, crd::timestamp when) {
    auto documents = split_documents(text);
    const std::string value = crd::format_rfc3339(when);
    touch_edit edit;

    bool found = false;
    for (auto& document : documents) {
        YAML::Node root;
        try {
            // A document whose aliases expand too far is skipped like one that
            // does not parse; `touch` reports its file as unreadable.
            root = crd::load_yaml(join_lines(document.lines));
            if (!declares_session(root, namespace_name, name)) {
                continue;
            }
        } catch (const YAML::Exception&) {
            continue;
        }
        found = true;
        // yaml-cpp throws on shapes it cannot index; such a document cannot be
        // edited safely, so the file is left as it is.
        try {
            if (!edit_lines(document, root, value) && !rewrite_document(document, root, value)) {
                return boost::system::errc::make_error_code(boost::system::errc::invalid_argument);
            }
            edit.reformatted = edit.reformatted || !document.rewritten_lines.empty();
        } catch (const YAML::Exception&) {
            return boost::system::errc::make_error_code(boost::system::errc::invalid_argument);
        }
        break;
    }
    if (!found) {
        return boost::system::errc::make_error_code(boost::system::errc::no_such_file_or_directory);
    }

    for (const auto& document : documents) {
        edit.text += join_lines(document.lines);
    }
    // Keep a file without a final newline that way.
    if (!text.empty() && text.back() != '\n' && !edit.text.empty()) {
        edit.text.pop_back();
    }
    return edit;
}

}  // namespace podsession::controller
