#include "crd/yaml_load.hpp"

#include <limits>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

#include "crd/field_reader.hpp"

namespace podsession::crd {
namespace {

// Size of a node with every alias inside it expanded.
struct expansion {
    std::size_t nodes = 0;
    std::size_t scalar_bytes = 0;
};

std::size_t saturating_add(std::size_t a, std::size_t b) {
    return a > std::numeric_limits<std::size_t>::max() - b ? std::numeric_limits<std::size_t>::max()
                                                           : a + b;
}

// Receives the parser's events for one document and keeps, for every anchor,
// the expanded size of its node, so that an alias costs what a copy would.
// Throws yaml_expansion_error from inside the parser to stop it early.
class expansion_counter : public YAML::EventHandler {
  public:
    explicit expansion_counter(const yaml_expansion_limits& limits) : limits_{limits} {}

    void OnDocumentStart(const YAML::Mark&) override {}
    void OnDocumentEnd() override {}

    void OnAnchor(const YAML::Mark&, const std::string& name) override { pending_name_ = name; }

    void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
        leaf(mark, anchor, {1, 0});
    }

    void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  const std::string& value) override {
        leaf(mark, anchor, {1, value.size()});
    }

    void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
        ++aliases_;
        const auto found = anchors_.find(anchor);
        if (found == anchors_.end()) {
            // yaml-cpp raises an error for an alias of an unknown anchor before
            // this event. Should that change, the alias counts as nothing.
            return;
        }
        if (!found->second.complete) {
            throw yaml_expansion_error{
                mark, "alias *" + found->second.name +
                          " refers to a node that contains it, so the document would be "
                          "infinitely deep; write the value out instead of using the alias"};
        }
        add(mark, found->second.size, &found->second.name);
    }

    void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                         YAML::EmitterStyle::value) override {
        open(mark, anchor);
    }
    void OnSequenceEnd() override { close(); }

    void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                    YAML::EmitterStyle::value) override {
        open(mark, anchor);
    }
    void OnMapEnd() override { close(); }

  private:
    struct anchored {
        std::string name;
        expansion size;
        // False while the anchored collection is open, because an alias of it
        // then sits inside it and would make a cycle.
        bool complete = false;
    };
    struct open_collection {
        YAML::anchor_t anchor = 0;
        expansion size;
    };

    void register_anchor(YAML::anchor_t anchor, expansion size, bool complete) {
        if (anchor == 0) {
            return;
        }
        auto& entry = anchors_[anchor];
        // Shown in messages, so cut like other values and without control
        // characters.
        entry.name = detail::escape_controls(
            std::string_view{pending_name_}.substr(0, detail::max_shown_value));
        pending_name_.clear();
        entry.size = size;
        entry.complete = complete;
    }

    void leaf(const YAML::Mark& mark, YAML::anchor_t anchor, expansion size) {
        register_anchor(anchor, size, true);
        add(mark, size, nullptr);
    }

    void open(const YAML::Mark& mark, YAML::anchor_t anchor) {
        register_anchor(anchor, {}, false);
        // The collection itself is one node. Its children are added as they
        // arrive.
        add(mark, {1, 0}, nullptr);
        stack_.push_back({anchor, {}});
    }

    void close() {
        if (stack_.empty()) {
            return;
        }
        const auto finished = stack_.back();
        stack_.pop_back();
        // `add` has counted the collection's own node in its parent's frame.
        if (finished.anchor != 0) {
            auto& entry = anchors_[finished.anchor];
            entry.size = {saturating_add(finished.size.nodes, 1), finished.size.scalar_bytes};
            entry.complete = true;
        }
        if (!stack_.empty()) {
            auto& parent = stack_.back().size;
            parent.nodes = saturating_add(parent.nodes, finished.size.nodes);
            parent.scalar_bytes = saturating_add(parent.scalar_bytes, finished.size.scalar_bytes);
        }
    }

    // Adds one node, or one alias that expands to `size`, to the open
    // collection and to the document. Throws once the document is over a limit.
    void add(const YAML::Mark& mark, expansion size, const std::string* alias_name) {
        if (!stack_.empty()) {
            auto& parent = stack_.back().size;
            parent.nodes = saturating_add(parent.nodes, size.nodes);
            parent.scalar_bytes = saturating_add(parent.scalar_bytes, size.scalar_bytes);
        }
        total_.nodes = saturating_add(total_.nodes, size.nodes);
        total_.scalar_bytes = saturating_add(total_.scalar_bytes, size.scalar_bytes);
        if (aliases_ == 0) {
            return;
        }
        if (total_.nodes > limits_.max_nodes) {
            fail(mark, std::to_string(limits_.max_nodes) + " nodes", alias_name);
        }
        if (total_.scalar_bytes > limits_.max_scalar_bytes) {
            fail(mark, std::to_string(limits_.max_scalar_bytes) + " bytes of text", alias_name);
        }
    }

    [[noreturn]] static void fail(const YAML::Mark& mark, const std::string& limit,
                                  const std::string* alias_name) {
        std::string message = "anchors and aliases expand this document to more than " + limit;
        if (alias_name != nullptr) {
            message += " (at alias *" + *alias_name + ")";
        }
        message += "; write the values out instead of repeating them through anchors and aliases";
        throw yaml_expansion_error{mark, message};
    }

    const yaml_expansion_limits& limits_;
    std::unordered_map<YAML::anchor_t, anchored> anchors_;
    std::vector<open_collection> stack_;
    std::string pending_name_;
    expansion total_;
    std::size_t aliases_ = 0;
};

}  // namespace

void check_yaml_expansion(std::string_view text, const yaml_expansion_limits& limits) {
    // Every alias starts with '*', so text without one needs no second parse.
    if (text.find('*') == std::string_view::npos) {
        return;
    }
    std::istringstream input{std::string{text}};
    YAML::Parser parser{input};
    expansion_counter counter{limits};
    // Only the first document is checked, because YAML::Load builds no other.
    parser.HandleNextDocument(counter);
}

YAML::Node load_yaml(std::string_view text, const yaml_expansion_limits& limits) {
    check_yaml_expansion(text, limits);
    return YAML::Load(std::string{text});
}

}  // namespace podsession::crd
