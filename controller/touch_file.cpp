#include "controller/touch_file.hpp"

#include <vector>

#include <yaml-cpp/yaml.h>
#include <boost/system/errc.hpp>

#include "crd/pod_session.hpp"

namespace podsession::controller {
namespace {

// The lines of one document, its `---` separator line included.
struct document_span {
    std::vector<std::string> lines;
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

// Edits the lines of one document. Returns false when a flow-style mapping is in
// the way.
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
            if (value_mark.line != key_mark.line) {
                return false;
            }
            auto& line = document.lines.at(static_cast<std::size_t>(value_mark.line));
            line = line.substr(0, static_cast<std::size_t>(value_mark.column)) + quoted;
            return true;
        }
        const auto column = first_key_column(annotations);
        const auto at = static_cast<std::size_t>(annotations.begin()->first.Mark().line);
        document.lines.insert(document.lines.begin() + static_cast<std::ptrdiff_t>(at),
                              std::string(column, ' ') + annotation + ": " + quoted);
        return true;
    }
    if (annotations && !annotations.IsNull() && !(annotations.IsMap() && annotations.size() == 0)) {
        return false;
    }

    // No annotations yet, or an empty or null mapping: write a block of our own
    // under metadata, in place of the empty one if there is one.
    const auto column = first_key_column(metadata);
    std::size_t at = static_cast<std::size_t>(metadata.begin()->first.Mark().line);
    if (annotations) {
        for (const auto& entry : metadata) {
            if (entry.first.Scalar() == "annotations") {
                at = static_cast<std::size_t>(entry.first.Mark().line);
                document.lines.erase(document.lines.begin() + static_cast<std::ptrdiff_t>(at));
            }
        }
    }
    const std::string indent(column, ' ');
    document.lines.insert(document.lines.begin() + static_cast<std::ptrdiff_t>(at),
                          {indent + "annotations:", indent + "  " + annotation + ": " + quoted});
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
            root = YAML::Load(join_lines(document.lines));
        } catch (const YAML::Exception&) {
            continue;
        }
        if (!root.IsMap() || !root["metadata"].IsMap() || root["kind"].Scalar() != crd::kind) {
            continue;
        }
        const auto metadata = root["metadata"];
        const std::string document_namespace =
            metadata["namespace"] ? metadata["namespace"].Scalar() : "default";
        if (!metadata["name"] || metadata["name"].Scalar() != name ||
            document_namespace != namespace_name) {
            continue;
        }
        found = true;
        if (!edit_lines(document, root, value)) {
            // Flow style leaves no line to edit: write the document anew.
            root["metadata"]["annotations"][std::string{crd::touch_annotation}] = value;
            YAML::Emitter out;
            out << root;
            const bool had_separator =
                !document.lines.empty() && is_separator(document.lines.front());
            document.lines.clear();
            if (had_separator) {
                document.lines.push_back("---");
            }
            const std::string emitted = out.c_str();
            std::size_t pos = 0;
            while (pos < emitted.size()) {
                auto end = emitted.find('\n', pos);
                if (end == std::string::npos) {
                    end = emitted.size();
                }
                document.lines.push_back(emitted.substr(pos, end - pos));
                pos = end + 1;
            }
            edit.reformatted = true;
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
