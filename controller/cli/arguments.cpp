#include "controller/cli/arguments.hpp"

#include <algorithm>
#include <cctype>
#include <iostream>
#include <string>
#include <vector>

#include "controller/cli/commands.hpp"
#include "controller/log.hpp"
#include "crd/validate.hpp"

namespace podsession::controller::cli {

namespace po = boost::program_options;

namespace {

// Whether an option was given with an empty value, or with an empty value
// among its repetitions. Only string values can be empty: boost rejects an
// empty number itself.
bool has_empty_value(const po::variable_value& value) {
    if (value.defaulted()) {
        return false;
    }
    if (const auto* text = boost::any_cast<std::string>(&value.value())) {
        return text->empty();
    }
    if (const auto* list = boost::any_cast<std::vector<std::string>>(&value.value())) {
        return std::ranges::any_of(*list, [](const std::string& item) { return item.empty(); });
    }
    return false;
}

std::string empty_value_message(std::string_view flag) {
    return std::string{flag} + ": empty value; give a value or leave the flag out";
}

std::string upper(std::string_view text) {
    std::string result{text};
    std::ranges::transform(result, result.begin(),
                           [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return result;
}

}  // namespace

std::optional<int> parse_command_line(const command_line& line, std::span<char* const> args,
                                      po::variables_map& values) {
    po::options_description all;
    all.add(line.options);
    po::positional_options_description positional;
    if (line.operand != nullptr) {
        // --help leaves operands out because the usage line names them.
        if (line.operand_count == 1) {
            all.add_options()(line.operand, po::value<std::string>());
        } else {
            all.add_options()(line.operand, po::value<std::vector<std::string>>());
        }
        positional.add(line.operand, line.operand_count);
    }
    // Without allow_guessing an option must be spelt in full: with it, boost
    // takes `--sess` for `--sessions-dir`, and a flag added later could change
    // what an abbreviation in a script means.
    constexpr int style =
        po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
    try {
        const auto parsed =
            po::command_line_parser(std::vector<std::string>(args.begin(), args.end()))
                .options(all)
                .positional(positional)
                .style(style)
                .run();
        // The operands are an option to boost, but only their position may set
        // them: `--name x` is as unknown as any other flag that --help does not list.
        for (const auto& option : parsed.options) {
            if (line.operand != nullptr && option.string_key == line.operand &&
                option.position_key < 0) {
                throw po::unknown_option(option.original_tokens.empty()
                                             ? "--" + option.string_key
                                             : option.original_tokens.front());
            }
        }
        po::store(parsed, values);
        // An empty value is rejected rather than read as "not given": a script
        // whose variable is unset would otherwise get the default silently, such
        // as the real RunPod API for an empty --runpod-base-url.
        for (const auto& [name, value] : values) {
            // A flag without a value, such as --help, is stored as an empty string.
            const auto* option = all.find_nothrow(name, false);
            if (option == nullptr || option->semantic()->max_tokens() == 0 ||
                !has_empty_value(value)) {
                continue;
            }
            if (line.operand != nullptr && name == line.operand) {
                const auto operand = upper(name);
                return usage_error(line.command,
                                   "empty " + operand + " argument; give a non-empty " + operand);
            }
            return usage_error(line.command, empty_value_message("--" + name));
        }
        po::notify(values);
    } catch (const po::too_many_positional_options_error&) {
        // Boost's own message speaks of "positional options".
        if (line.operand == nullptr) {
            return usage_error(line.command,
                               "unexpected argument: this command takes only options");
        }
        const auto operand = upper(line.operand);
        return usage_error(line.command, "too many arguments: give at most one " + operand);
    } catch (const po::invalid_syntax& error) {
        // `--flag=` gives an empty value as well, which boost words otherwise.
        if (error.kind() == po::invalid_syntax::empty_adjacent_parameter) {
            return usage_error(line.command, empty_value_message(error.get_option_name()));
        }
        return usage_error(line.command, error.what());
    } catch (const po::error& error) {
        return usage_error(line.command, error.what());
    }
    if (values.count("help") != 0) {
        std::cout << line.usage << '\n' << line.options << '\n';
        return exit_ok;
    }
    return std::nullopt;
}

int usage_error(std::string_view command, std::string_view message) {
    std::cerr << "podsession " << command << ": " << message << "\nRun `podsession " << command
              << " --help` for the options.\n";
    return exit_usage;
}

std::optional<int> check_session_names(std::string_view command,
                                       const std::optional<std::string>& name,
                                       const std::optional<std::string>& namespace_name) {
    if (name && !crd::is_dns1123_subdomain(*name)) {
        return usage_error(command, "PodSession name \"" + log::escape_controls(*name) +
                                        "\" is not valid: use lowercase letters, digits, '-' "
                                        "and '.', as metadata.name does");
    }
    if (namespace_name && !crd::is_dns1123_label(*namespace_name)) {
        return usage_error(command, "--namespace \"" + log::escape_controls(*namespace_name) +
                                        "\" is not a valid namespace: use 1..63 lowercase "
                                        "letters, digits and '-'");
    }
    return std::nullopt;
}

}  // namespace podsession::controller::cli
