// Pod-side checks for the credentials that podsession-controller gives a pod.
//
// The PodSession field `auth` decides which env var the pod receives:
//
//   auth: bearer     ATLAS_PRESHARED_KEY=<token>    clients send `Authorization: Bearer <token>`
//   auth: signedUrl  ATLAS_SIGNING_SECRET=<token>   URLs carry `exp` and `sig` query parameters
//   auth: none       neither
//
// Names, token format and signature algorithm are those of the Elixir library
// ExAtlas, so a pod image written for ExAtlas keeps working unchanged.
//
// This header is self-contained: it needs the C++20 standard library and
// OpenSSL 3's libcrypto (link `-lcrypto`), nothing else, so an inference server
// can copy it into its own tree. Use:
//
//     #include "auth/verifier.hpp"
//     namespace auth = podsession::auth;
//
//     // Once at start-up: getenv is not safe against concurrent setenv.
//     const auto verifier = auth::pod_verifier::from_environment();
//
//     // For a request that needs the bearer token:
//     if (verifier.check_bearer(authorization_header_or_empty) != auth::bearer_status::ok) {
//         reply 401 with `WWW-Authenticate: Bearer`
//     }
//     // For a request that needs a signed URL, with the raw request target
//     // (path and query exactly as received, before any percent-decoding):
//     if (verifier.check_signed_target(request_target) != auth::signed_url_status::ok) {
//         reply 401
//     }
//
// Each check returns ok when its env var is unset. A variable that is set but
// empty rejects every request, so a misconfigured pod fails closed. Neither check
// ever puts a secret into its result; log the results, never the headers.
//
// Signed URLs. Signing takes the URL path exactly as written ('/' when empty).
// It decodes the query as application/x-www-form-urlencoded into a map, where a
// repeated key keeps its last value, and sets `exp` to the expiry in Unix
// seconds. It sorts the pairs by decoded key, byte by byte, and re-encodes each
// key and value: A-Z a-z 0-9 - . _ ~ stay, a space becomes '+', and every other
// byte becomes %XX in uppercase. The canonical string is path + '?' + the pairs
// joined by '&', and `sig` is base64url without padding of HMAC-SHA256 keyed
// with the secret's bytes. A request is valid when `exp` and `sig` are present,
// `exp` is an integer not before now (exp == now is still valid), and `sig`
// equals the signature of the canonical string rebuilt from every other
// parameter.

#pragma once

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace podsession::auth {

inline constexpr std::string_view preshared_key_env = "ATLAS_PRESHARED_KEY";
inline constexpr std::string_view signing_secret_env = "ATLAS_SIGNING_SECRET";

// Query parameters of a signed URL.
inline constexpr std::string_view expiry_parameter = "exp";
inline constexpr std::string_view signature_parameter = "sig";

// The outcome of checking an Authorization header against the pod's token.
enum class bearer_status {
    ok,
    // No Authorization header, or one with only whitespace.
    missing,
    // Another scheme than Bearer (Basic, Digest, a token without a scheme).
    other_scheme,
    // The Bearer scheme without a token, or a token that is not an RFC 6750
    // b64token (inner whitespace, a tab separator, other characters).
    malformed,
    // A well-formed token that is not the pod's.
    mismatch,
};

// The outcome of checking a signed URL. The names are the ones ExAtlas uses.
enum class signed_url_status {
    ok,
    // Not a URL or request target, malformed percent-encoding, `exp` or `sig`
    // missing, or `exp` not an integer.
    malformed,
    // `exp` is before now.
    expired,
    // The signature does not match, or the pod has an empty secret.
    bad_signature,
};

[[nodiscard]] constexpr std::string_view to_string(bearer_status status) noexcept {
    switch (status) {
        case bearer_status::ok:
            return "ok";
        case bearer_status::missing:
            return "missing";
        case bearer_status::other_scheme:
            return "other_scheme";
        case bearer_status::malformed:
            return "malformed";
        case bearer_status::mismatch:
            return "mismatch";
    }
    return "unknown";
}

[[nodiscard]] constexpr std::string_view to_string(signed_url_status status) noexcept {
    switch (status) {
        case signed_url_status::ok:
            return "ok";
        case signed_url_status::malformed:
            return "malformed";
        case signed_url_status::expired:
            return "expired";
        case signed_url_status::bad_signature:
            return "bad_signature";
    }
    return "unknown";
}

// The building blocks of the signed-URL algorithm. The controller's signer uses
// the same functions, so signing and verifying cannot drift apart.
namespace detail {

// Decoded query parameters. std::string compares bytes as unsigned char, so the
// map's order is the byte-wise order of the decoded keys.
using query_map = std::map<std::string, std::string, std::less<>>;

// A URL or a request target, cut where the signature needs it.
struct url_parts {
    // `scheme://authority`, or empty for a request target that starts with '/'.
    std::string_view origin;
    // As written, still percent-encoded, and empty for `https://host`.
    std::string_view path;
    std::string_view query;
    std::optional<std::string_view> fragment;
};

[[nodiscard]] constexpr bool is_ascii_alpha(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

[[nodiscard]] constexpr bool is_ascii_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

[[nodiscard]] constexpr bool is_unreserved(char c) noexcept {
    return is_ascii_alpha(c) || is_ascii_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

// Splits an absolute URL (`https://host/path?query#fragment`) or an origin-form
// request target (`/path?query`). Returns nothing for anything else: a relative
// reference, a URL without a scheme or without an authority.
[[nodiscard]] inline std::optional<url_parts> split_url(std::string_view url) noexcept {
    url_parts parts;
    if (const auto hash = url.find('#'); hash != std::string_view::npos) {
        parts.fragment = url.substr(hash + 1);
        url = url.substr(0, hash);
    }
    if (const auto question = url.find('?'); question != std::string_view::npos) {
        parts.query = url.substr(question + 1);
        url = url.substr(0, question);
    }
    if (url.starts_with('/')) {
        parts.path = url;
        return parts;
    }

    // RFC 3986: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
    const auto separator = url.find("://");
    if (separator == std::string_view::npos || separator == 0 || !is_ascii_alpha(url[0])) {
        return std::nullopt;
    }
    const auto scheme = url.substr(0, separator);
    const bool scheme_valid = std::all_of(scheme.begin(), scheme.end(), [](char c) {
        return is_ascii_alpha(c) || is_ascii_digit(c) || c == '+' || c == '-' || c == '.';
    });
    const auto path_start = url.find('/', separator + 3);
    const auto authority_end = path_start == std::string_view::npos ? url.size() : path_start;
    if (!scheme_valid || authority_end == separator + 3) {
        return std::nullopt;
    }
    parts.origin = url.substr(0, authority_end);
    parts.path = url.substr(authority_end);
    return parts;
}

[[nodiscard]] constexpr int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

// Decodes one application/x-www-form-urlencoded component: '+' is a space and
// %XX a byte. Returns nothing when a '%' is not followed by two hex digits.
[[nodiscard]] inline std::optional<std::string> form_decode(std::string_view text) {
    std::string decoded;
    decoded.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '+') {
            decoded += ' ';
        } else if (c != '%') {
            decoded += c;
        } else {
            const int high = i + 2 < text.size() ? hex_value(text[i + 1]) : -1;
            const int low = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
            if (high < 0 || low < 0) {
                return std::nullopt;
            }
            decoded += static_cast<char>(high * 16 + low);
            i += 2;
        }
    }
    return decoded;
}

// Appends `text` form-encoded: unreserved characters as they are, space as '+',
// every other byte as %XX with uppercase hex digits.
inline void form_encode(std::string_view text, std::string& out) {
    constexpr std::string_view hex_digits = "0123456789ABCDEF";
    for (const char c : text) {
        if (is_unreserved(c)) {
            out += c;
        } else if (c == ' ') {
            out += '+';
        } else {
            const auto byte = static_cast<unsigned char>(c);
            out += '%';
            out += hex_digits[byte >> 4];
            out += hex_digits[byte & 0x0f];
        }
    }
}

// Decodes a query into a map. Empty pairs (`a=1&&b=2`) are skipped, a pair
// without '=' has an empty value, and a repeated key keeps its last value.
[[nodiscard]] inline std::optional<query_map> parse_query(std::string_view query) {
    query_map parameters;
    while (!query.empty()) {
        const auto ampersand = query.find('&');
        const auto pair = query.substr(0, ampersand);
        query =
            ampersand == std::string_view::npos ? std::string_view{} : query.substr(ampersand + 1);
        if (pair.empty()) {
            continue;
        }

        const auto equals = pair.find('=');
        auto key = form_decode(pair.substr(0, equals));
        auto value = form_decode(equals == std::string_view::npos ? std::string_view{}
                                                                  : pair.substr(equals + 1));
        if (!key || !value) {
            return std::nullopt;
        }
        parameters.insert_or_assign(std::move(*key), std::move(*value));
    }
    return parameters;
}

// `k1=v1&k2=v2` in the map's order, each key and value form-encoded.
[[nodiscard]] inline std::string encode_query(const query_map& parameters) {
    std::string query;
    for (const auto& [key, value] : parameters) {
        if (!query.empty()) {
            query += '&';
        }
        form_encode(key, query);
        query += '=';
        form_encode(value, query);
    }
    return query;
}

[[nodiscard]] inline std::string canonical_string(std::string_view path,
                                                  const query_map& parameters) {
    std::string canonical{path.empty() ? std::string_view{"/"} : path};
    canonical += '?';
    canonical += encode_query(parameters);
    return canonical;
}

// Base64url (RFC 4648 section 5) without '=' padding.
[[nodiscard]] inline std::string base64url_encode(std::span<const unsigned char> bytes) {
    constexpr std::string_view alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string encoded;
    encoded.reserve((bytes.size() * 4 + 2) / 3);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t group = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
        encoded += alphabet[(group >> 18) & 0x3f];
        encoded += alphabet[(group >> 12) & 0x3f];
        encoded += alphabet[(group >> 6) & 0x3f];
        encoded += alphabet[group & 0x3f];
    }
    if (const auto rest = bytes.size() - i; rest > 0) {
        const std::uint32_t group =
            (bytes[i] << 16) | (rest == 2 ? static_cast<std::uint32_t>(bytes[i + 1]) << 8 : 0U);
        encoded += alphabet[(group >> 18) & 0x3f];
        encoded += alphabet[(group >> 12) & 0x3f];
        if (rest == 2) {
            encoded += alphabet[(group >> 6) & 0x3f];
        }
    }
    return encoded;
}

// The `sig` value for a canonical string, or nothing when OpenSSL fails.
[[nodiscard]] inline std::optional<std::string> signature_for(std::string_view secret,
                                                              std::string_view canonical) {
    std::array<unsigned char, 32> mac{};
    std::size_t mac_size = 0;
    const unsigned char* computed =
        EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(),
                  reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size(),
                  mac.data(), mac.size(), &mac_size);
    if (computed == nullptr || mac_size != mac.size()) {
        return std::nullopt;
    }
    return base64url_encode(mac);
}

// Parses `exp`: an optional '-' and decimal digits. Values beyond 64 bits
// saturate, because they are still integers that are far past or far ahead.
[[nodiscard]] inline std::optional<std::int64_t> parse_expiry(std::string_view text) noexcept {
    const bool negative = text.starts_with('-');
    const auto digits = negative ? text.substr(1) : text;
    if (digits.empty() || !std::all_of(digits.begin(), digits.end(), is_ascii_digit)) {
        return std::nullopt;
    }
    std::int64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error == std::errc::result_out_of_range) {
        return negative ? std::numeric_limits<std::int64_t>::min()
                        : std::numeric_limits<std::int64_t>::max();
    }
    if (error != std::errc{} || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

// Compares in time that depends on the lengths only. The lengths are public:
// every token and signature of this scheme has 43 characters.
[[nodiscard]] inline bool equal_constant_time(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace detail

// Checks an absolute URL or an origin-form request target (`/media/x?exp=...&sig=...`)
// against `secret` at time `now`. The checks run in ExAtlas's order: malformed,
// then expired, then the signature.
[[nodiscard]] inline signed_url_status verify_signed_url(std::string_view url,
                                                         std::string_view secret,
                                                         std::chrono::sys_seconds now) {
    const auto parts = detail::split_url(url);
    if (!parts) {
        return signed_url_status::malformed;
    }
    auto parameters = detail::parse_query(parts->query);
    if (!parameters) {
        return signed_url_status::malformed;
    }
    const auto expiry = parameters->find(expiry_parameter);
    const auto signature = parameters->find(signature_parameter);
    if (expiry == parameters->end() || signature == parameters->end()) {
        return signed_url_status::malformed;
    }
    const auto expires_at = detail::parse_expiry(expiry->second);
    if (!expires_at) {
        return signed_url_status::malformed;
    }
    if (*expires_at < now.time_since_epoch().count()) {
        return signed_url_status::expired;
    }

    // An empty key would let anyone compute the signature.
    if (secret.empty()) {
        return signed_url_status::bad_signature;
    }
    const std::string received = std::move(signature->second);
    parameters->erase(signature);
    const auto expected =
        detail::signature_for(secret, detail::canonical_string(parts->path, *parameters));
    if (!expected || !detail::equal_constant_time(*expected, received)) {
        return signed_url_status::bad_signature;
    }
    return signed_url_status::ok;
}

// Checks the value of an Authorization header against `expected_token`. The
// scheme is matched case-insensitively (RFC 7235 section 2.1). One or more
// spaces and an RFC 6750 b64token must follow it. Spaces and tabs around the
// value are optional whitespace of the header field and ignored. An empty value
// means the header is absent.
[[nodiscard]] inline bearer_status check_bearer(std::string_view authorization,
                                                std::string_view expected_token) noexcept {
    constexpr std::string_view whitespace = " \t";
    const auto first = authorization.find_first_not_of(whitespace);
    if (first == std::string_view::npos) {
        return bearer_status::missing;
    }
    authorization =
        authorization.substr(first, authorization.find_last_not_of(whitespace) + 1 - first);

    const auto scheme_end = std::min(authorization.find_first_of(whitespace), authorization.size());
    const auto scheme = authorization.substr(0, scheme_end);
    constexpr std::string_view bearer = "bearer";
    const bool is_bearer =
        std::equal(scheme.begin(), scheme.end(), bearer.begin(), bearer.end(),
                   [](char a, char b) { return (a >= 'A' && a <= 'Z' ? a - 'A' + 'a' : a) == b; });
    if (!is_bearer) {
        return bearer_status::other_scheme;
    }

    auto token = authorization.substr(scheme_end);
    const auto token_start = token.find_first_not_of(' ');
    if (token_start == std::string_view::npos || token_start == 0) {
        return bearer_status::malformed;
    }
    token = token.substr(token_start);
    // b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    const auto padding_start = token.find_last_not_of('=') + 1;
    const auto body = token.substr(0, padding_start);
    const bool well_formed = !body.empty() && std::all_of(body.begin(), body.end(), [](char c) {
        return detail::is_unreserved(c) || c == '+' || c == '/';
    });
    if (!well_formed) {
        return bearer_status::malformed;
    }

    if (expected_token.empty() || !detail::equal_constant_time(token, expected_token)) {
        return bearer_status::mismatch;
    }
    return bearer_status::ok;
}

// The pod's view of its credentials, read from the standard env vars.
class pod_verifier {
  public:
    // An unset secret disables its check, and an empty one rejects every request.
    pod_verifier(std::optional<std::string> preshared_key,
                 std::optional<std::string> signing_secret)
        : preshared_key_(std::move(preshared_key)), signing_secret_(std::move(signing_secret)) {}

    // Reads ATLAS_PRESHARED_KEY and ATLAS_SIGNING_SECRET. Call it once at
    // start-up, before any thread could change the environment.
    [[nodiscard]] static pod_verifier from_environment() {
        return pod_verifier{read_env(preshared_key_env), read_env(signing_secret_env)};
    }

    [[nodiscard]] bool requires_bearer() const noexcept { return preshared_key_.has_value(); }
    [[nodiscard]] bool requires_signed_url() const noexcept { return signing_secret_.has_value(); }

    // Checks an Authorization header value, which is empty when the request
    // has none. Returns ok when ATLAS_PRESHARED_KEY is unset.
    [[nodiscard]] bearer_status check_bearer(std::string_view authorization) const noexcept {
        if (!preshared_key_) {
            return bearer_status::ok;
        }
        return auth::check_bearer(authorization, *preshared_key_);
    }

    // Checks a request target or URL at time `now`. Returns ok when
    // ATLAS_SIGNING_SECRET is unset.
    [[nodiscard]] signed_url_status check_signed_target(std::string_view target,
                                                        std::chrono::sys_seconds now) const {
        if (!signing_secret_) {
            return signed_url_status::ok;
        }
        return verify_signed_url(target, *signing_secret_, now);
    }

    // Checks a request target against the system clock.
    [[nodiscard]] signed_url_status check_signed_target(std::string_view target) const {
        const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
        return check_signed_target(target, now);
    }

  private:
    [[nodiscard]] static std::optional<std::string> read_env(std::string_view name) {
        const char* value = std::getenv(std::string{name}.c_str());
        if (value == nullptr) {
            return std::nullopt;
        }
        return std::string{value};
    }

    std::optional<std::string> preshared_key_;
    std::optional<std::string> signing_secret_;
};

}  // namespace podsession::auth
