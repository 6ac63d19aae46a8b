// TLS verification against certificates generated at test time with the
// openssl command.

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "net/client.hpp"
#include "net/error.hpp"
#include "net/server.hpp"
#include "tests/net/run_task.hpp"

namespace podsession::net {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::ip::tcp;
using podsession::testing::run_task;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// A self-signed certificate, its own CA, for the given subjectAltName.
struct certificate {
    std::filesystem::path certificate_file;
    std::filesystem::path key_file;
};

certificate make_certificate(const std::filesystem::path& directory, const std::string& name,
                             const std::string& subject_alt_name) {
    certificate made{directory / (name + ".crt"), directory / (name + ".key")};
    const std::string command =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1"
        " -subj /CN=podsession-test -addext subjectAltName=" +
        subject_alt_name + " -keyout " + made.key_file.string() + " -out " +
        made.certificate_file.string() + " 2>/dev/null";
    if (std::system(command.c_str()) != 0) {
        throw std::runtime_error{"openssl req failed: " + command};
    }
    return made;
}

// Responds to every request on every connection with 200 "ok" over TLS.
class tls_server {
  public:
    tls_server(asio::io_context& io, const certificate& identity)
        : context_{ssl::context::tls_server},
          acceptor_{io, tcp::endpoint{asio::ip::address_v4::loopback(), 0}} {
        context_.use_certificate_chain_file(identity.certificate_file.string());
        context_.use_private_key_file(identity.key_file.string(), ssl::context::pem);
        asio::co_spawn(io, accept_loop(), asio::detached);
    }

    ~tls_server() {
        boost::system::error_code ignored;
        acceptor_.close(ignored);
    }

    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

  private:
    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto [error, socket] = co_await acceptor_.async_accept(use_tuple);
            if (error) {
                co_return;
            }
            asio::co_spawn(acceptor_.get_executor(), serve(std::move(socket)), asio::detached);
        }
    }

    asio::awaitable<void> serve(tcp::socket socket) {
        ssl::stream<tcp::socket> stream{std::move(socket), context_};
        auto [handshake_error] =
            co_await stream.async_handshake(ssl::stream_base::server, use_tuple);
        if (handshake_error) {
            co_return;
        }
        std::string buffer;
        for (;;) {
            auto [read_error, size] = co_await asio::async_read_until(
                stream, asio::dynamic_buffer(buffer), "\r\n\r\n", use_tuple);
            if (read_error) {
                co_return;
            }
            buffer.erase(0, size);
            std::string response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
            co_await asio::async_write(stream, asio::buffer(response), use_tuple);
        }
    }

    ssl::context context_;
    tcp::acceptor acceptor_;
};

class tls_test : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        directory_ =
            new std::filesystem::path{std::filesystem::temp_directory_path() /
                                      ("podsession-tls-test-" + std::to_string(::getpid()))};
        std::filesystem::create_directories(*directory_);
        right_ =
            new certificate{make_certificate(*directory_, "right", "IP:127.0.0.1,DNS:localhost")};
        other_ = new certificate{make_certificate(*directory_, "other", "IP:127.0.0.1")};
        wrong_host_ =
            new certificate{make_certificate(*directory_, "wrong-host", "DNS:wrong.invalid")};
    }

    static void TearDownTestSuite() {
        std::filesystem::remove_all(*directory_);
        delete right_;
        delete other_;
        delete wrong_host_;
        delete directory_;
    }

    // Fetches `/` from a TLS server presenting `identity` with `options`.
    boost::system::result<response> fetch(const certificate& identity, tls_options options) {
        tls_server server{io_, identity};
        client_options settings;
        settings.connect_timeout = std::chrono::milliseconds{5'000};
        settings.tls = std::move(options);
        client http{io_.get_executor(), "https://127.0.0.1:" + std::to_string(server.port()),
                    settings};
        request message;
        message.target = "/";
        return run_task(io_, http.send(std::move(message)));
    }

    static tls_options trusting(const certificate& authority) {
        tls_options options;
        options.ca_file = authority.certificate_file;
        return options;
    }

    asio::io_context io_;
    static inline std::filesystem::path* directory_ = nullptr;
    static inline certificate* right_ = nullptr;
    static inline certificate* other_ = nullptr;
    static inline certificate* wrong_host_ = nullptr;
};

TEST_F(tls_test, accepts_certificate_from_given_ca) {
    const auto answer = fetch(*right_, trusting(*right_));
    ASSERT_TRUE(answer) << answer.error().message();
    EXPECT_EQ(answer->body, "ok");
}

TEST_F(tls_test, rejects_certificate_unknown_to_system_store) {
    const auto answer = fetch(*right_, tls_options{});
    ASSERT_FALSE(answer);
    EXPECT_EQ(answer.error(), errc::untrusted_certificate);
}

TEST_F(tls_test, rejects_certificate_from_other_ca) {
    const auto answer = fetch(*right_, trusting(*other_));
    ASSERT_FALSE(answer);
    EXPECT_EQ(answer.error(), errc::untrusted_certificate);
}

TEST_F(tls_test, rejects_certificate_for_other_host) {
    const auto answer = fetch(*wrong_host_, trusting(*wrong_host_));
    ASSERT_FALSE(answer);
    EXPECT_EQ(answer.error(), errc::untrusted_certificate);
}

TEST_F(tls_test, insecure_skip_accepts_unknown_certificate) {
    tls_options options;
    options.verification = peer_verification::insecure_skip;
    const auto answer = fetch(*other_, options);
    ASSERT_TRUE(answer) << answer.error().message();
}

TEST_F(tls_test, missing_ca_file_throws_with_its_name) {
    client_options settings;
    settings.tls.ca_file = "/nonexistent/podsession-ca.pem";
    try {
        client http{io_.get_executor(), "https://127.0.0.1:1", settings};
        FAIL() << "no exception";
    } catch (const std::runtime_error& error) {
        EXPECT_NE(std::string{error.what()}.find("/nonexistent/podsession-ca.pem"),
                  std::string::npos);
    }
}

// The project's own server with a TLS identity, as `podsession
// simulate-runpod --tls-cert --tls-key` runs it.
class https_server_test : public tls_test {
  protected:
    boost::system::result<response> fetch_from_server(const certificate& identity,
                                                      tls_options options) {
        router routes;
        routes.add(http::verb::get, "/hello", [](server_request&) -> asio::awaitable<reply> {
            co_return reply{make_response(200, "hello over TLS")};
        });
        server_options settings;
        settings.tls = server_tls_options{identity.certificate_file, identity.key_file};
        server https{io_.get_executor(), std::move(routes), settings};
        const auto bound = https.listen(tcp::endpoint{asio::ip::address_v4::loopback(), 0});
        EXPECT_TRUE(bound);

        client_options client_settings;
        client_settings.tls = std::move(options);
        auto answer = [&] {
            client http{io_.get_executor(), "https://127.0.0.1:" + std::to_string(bound->port()),
                        client_settings};
            request message;
            message.target = "/hello";
            auto first = run_task(io_, http.send(message));
            if (first) {
                // A second request reuses the kept-alive TLS connection.
                first = run_task(io_, http.send(std::move(message)));
            }
            return first;
        }();
        https.stop();
        io_.run_for(std::chrono::milliseconds{200});
        return answer;
    }
};

TEST_F(https_server_test, serves_client_that_trusts_its_ca) {
    const auto answer = fetch_from_server(*right_, trusting(*right_));
    ASSERT_TRUE(answer) << answer.error().message();
    EXPECT_EQ(answer->status, 200U);
    EXPECT_EQ(answer->body, "hello over TLS");
}

TEST_F(https_server_test, client_without_its_ca_fails_verification) {
    const auto answer = fetch_from_server(*right_, tls_options{});
    ASSERT_FALSE(answer);
    EXPECT_EQ(answer.error(), errc::untrusted_certificate);
}

TEST_F(https_server_test, missing_certificate_throws_with_its_name) {
    server_options settings;
    settings.tls = server_tls_options{"/nonexistent/podsession.crt", right_->key_file};
    try {
        server https{io_.get_executor(), router{}, settings};
        FAIL() << "no exception";
    } catch (const std::runtime_error& error) {
        EXPECT_NE(std::string{error.what()}.find("/nonexistent/podsession.crt"), std::string::npos);
    }
}

TEST_F(https_server_test, key_of_other_certificate_throws) {
    server_options settings;
    settings.tls = server_tls_options{right_->certificate_file, other_->key_file};
    EXPECT_THROW((server{io_.get_executor(), router{}, settings}), std::runtime_error);
}

}  // namespace
}  // namespace podsession::net
