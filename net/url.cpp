#include "net/url.hpp"

#include <charconv>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include "net/error.hpp"

namespace podsession::net {

std::string origin::host_header() const {
    std::string header = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    const std::uint16_t default_port = tls ? 443 : 80;
    if (port != default_port) {
        header += ':' + std::to_string(port);
    }
    return header;
}

std::string origin::to_string() const {
    return (tls ? "https://" : "http://") + host_header() + base_path;
}

boost::system::result<origin> parse_origin(std::string_view url) {
    const auto parsed = boost::urls::parse_absolute_uri(url);
    if (!parsed) {
        return make_error_code(errc::invalid_url);
    }
    const boost::urls::url_view& view = *parsed;

    origin result;
    if (view.scheme_id() == boost::urls::scheme::https) {
        result.tls = true;
    } else if (view.scheme_id() != boost::urls::scheme::http) {
        return make_error_code(errc::invalid_url);
    }
    if (!view.has_authority() || view.has_userinfo() || view.has_query() || view.has_fragment()) {
        return make_error_code(errc::invalid_url);
    }

    switch (view.host_type()) {
        case boost::urls::host_type::ipv6:
            result.host = view.host_ipv6_address().to_string();
            break;
        case boost::urls::host_type::ipv4:
        case boost::urls::host_type::name:
            result.host = view.host();
            break;
        default:
            return make_error_code(errc::invalid_url);
    }
    if (result.host.empty()) {
        return make_error_code(errc::invalid_url);
    }

    result.port = result.tls ? 443 : 80;
    if (view.has_port()) {
        const std::string_view port = view.port();
        unsigned value = 0;
        const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (error != std::errc{} || end != port.data() + port.size() || value == 0 ||
            value > 65535) {
            return make_error_code(errc::invalid_url);
        }
        result.port = static_cast<std::uint16_t>(value);
    }

    result.base_path = view.encoded_path();
    while (!result.base_path.empty() && result.base_path.back() == '/') {
        result.base_path.pop_back();
    }
    return result;
}

}  // namespace podsession::net
