#pragma once

#include <string>

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>

namespace podsession::net {

namespace http = boost::beast::http;

// An HTTP/1.1 request as the client sends it and the server hands it to a
// handler. The client adds `Host`, `Content-Length` and `User-Agent` itself.
struct request {
    http::verb method = http::verb::get;
    // Origin form: path and query, already percent-encoded (`/v2/pods?x=1`).
    std::string target;
    http::fields headers;
    std::string body;
};

// An HTTP/1.1 response with its whole body. A status of 4xx or 5xx is a
// response like any other; transport failures are error codes instead.
struct response {
    unsigned status = 200;
    http::fields headers;
    std::string body;
};

}  // namespace podsession::net
