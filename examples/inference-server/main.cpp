// An example inference server for a PodSession pod, on Boost.Beast. It shows how
// a pod checks the credentials that podsession-controller hands it, through the
// self-contained header auth/verifier.hpp:
//
//   GET  /healthz        open, for probes
//   POST /v1/generate    echoes its JSON body; needs `Authorization: Bearer <token>`
//                        when ATLAS_PRESHARED_KEY is set (auth: bearer)
//   GET  /media/<name>   needs a URL signed by `podsession sign` when
//                        ATLAS_SIGNING_SECRET is set (auth: signedUrl)
//
// Rejected requests get 401 with a JSON body naming the reason. The first line
// on stdout is the bound port, so that tests can pass `--listen 127.0.0.1:0`.
// Logs go to stderr and never carry a token or a query string. SIGTERM or
// SIGINT stops the server with exit status 0.

#include <csignal>
#include <cstdint>
#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/program_options.hpp>

#include "auth/verifier.hpp"
#include "examples/inference-server/server.hpp"

namespace {

namespace asio = boost::asio;
namespace po = boost::program_options;
using tcp = asio::ip::tcp;

// Parses `HOST:PORT` or `[IPV6]:PORT` with a literal address.
[[nodiscard]] std::optional<tcp::endpoint> parse_listen_address(std::string_view text) {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
        return std::nullopt;
    }
    auto host = text.substr(0, colon);
    const auto port_text = text.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }

    unsigned long port = 0;
    try {
        std::size_t used = 0;
        port = std::stoul(std::string{port_text}, &used);
        if (used != port_text.size() || port > 65535) {
            return std::nullopt;
        }
    } catch (const std::exception&) {
        return std::nullopt;
    }
    boost::system::error_code error;
    const auto address = asio::ip::make_address(std::string{host}, error);
    if (error) {
        return std::nullopt;
    }
    return tcp::endpoint{address, static_cast<std::uint16_t>(port)};
}

[[nodiscard]] std::string_view requirement(bool required) {
    return required ? "required" : "off";
}

}  // namespace

int main(int argc, char** argv) {
    std::string listen;
    po::options_description options{
        "usage: example-inference-server [--listen ADDR:PORT]\n\noptions"};
    // clang-format off
    options.add_options()
        ("help,h", "print this help and exit")
        ("listen", po::value(&listen)->value_name("ADDR:PORT")->default_value("127.0.0.1:8000"),
         "address and port to listen on; port 0 picks a free port. In a pod, use 0.0.0.0:8000 "
         "or the port of the PodSession's `ports`");
    // clang-format on
    po::variables_map values;
    try {
        po::store(po::parse_command_line(argc, argv, options), values);
        po::notify(values);
    } catch (const po::error& error) {
        std::cerr << "example-inference-server: " << error.what() << '\n' << options << '\n';
        return 2;
    }
    if (values.count("help") != 0) {
        std::cout << options << '\n';
        return 0;
    }
    const auto endpoint = parse_listen_address(listen);
    if (!endpoint) {
        std::cerr << "example-inference-server: invalid --listen \"" << listen
                  << "\": expected ADDR:PORT with a literal IPv4 or [IPv6] address, "
                     "such as 127.0.0.1:8000\n";
        return 2;
    }

    // Read the credentials once, before any other thread exists.
    const auto verifier = podsession::auth::pod_verifier::from_environment();
    const example::server_limits limits;

    // Bind, then report the port before serving.
    asio::io_context context;
    tcp::acceptor acceptor{context};
    try {
        acceptor.open(endpoint->protocol());
        acceptor.set_option(asio::socket_base::reuse_address(true));
        acceptor.bind(*endpoint);
        acceptor.listen();
    } catch (const boost::system::system_error& error) {
        std::cerr << "example-inference-server: cannot listen on " << listen << ": "
                  << error.code().message() << '\n';
        return 1;
    }
    std::cout << acceptor.local_endpoint().port() << std::endl;
    std::clog << "inference-server: listening address=" << acceptor.local_endpoint()
              << " bearer=" << requirement(verifier.requires_bearer())
              << " signed_url=" << requirement(verifier.requires_signed_url()) << '\n';

    // Stop on SIGTERM or SIGINT. Open connections are dropped with the
    // io_context, which suits an example whose requests take microseconds.
    asio::signal_set signals{context, SIGTERM, SIGINT};
    signals.async_wait([&](const boost::system::error_code& error, int signal_number) {
        if (error) {
            return;
        }
        std::clog << "inference-server: stopping signal=" << signal_number << '\n';
        boost::system::error_code ignored;
        acceptor.close(ignored);
        context.stop();
    });

    asio::co_spawn(context, example::accept_connections(acceptor, verifier, limits),
                   asio::detached);
    context.run();
    std::clog << "inference-server: stopped\n";
    return 0;
}
