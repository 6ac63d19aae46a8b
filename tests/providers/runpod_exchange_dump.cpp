// Drives the RunPod client and raw requests through every kind of exchange
// with the simulator and writes the recorded requests and responses as JSON,
// for simulator_schema_test.py to check against RunPod's published schemas.
//
// Usage: runpod_exchange_dump OUTPUT.json

#include <fstream>
#include <iostream>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>

#include "net/client.hpp"
#include "providers/runpod/client.hpp"
#include "providers/runpod/codec.hpp"
#include "providers/simulated/faults.hpp"
#include "providers/simulated/simulator.hpp"
#include "tests/net/run_task.hpp"

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
namespace http = podsession::net::http;
namespace providers = podsession::providers;
namespace simulated = podsession::providers::simulated;
using namespace std::chrono_literals;
using podsession::testing::run_task;

providers::create_pod_request make_request(std::string name) {
    providers::create_pod_request request;
    request.name = std::move(name);
    request.image = "ghcr.io/me/inference:latest";
    request.gpu_type_id = "NVIDIA GeForce RTX 4090";
    request.env = {{"PODSESSION_UID", "uid-1"}};
    return request;
}

// Sends a request that the RunPod client never makes (actions, bad paths).
void send_raw(asio::io_context& io, const simulated::in_process_simulator& simulator,
              http::verb method, std::string target, std::string body) {
    podsession::net::client raw{io.get_executor(), simulator.base_url};
    podsession::net::request message;
    message.method = method;
    message.target = std::move(target);
    message.body = std::move(body);
    message.headers.set(http::field::authorization, "Bearer " + simulator.api_key);
    message.headers.set(http::field::content_type, "application/json");
    if (!run_task(io, raw.send(std::move(message)))) {
        throw std::runtime_error{"raw request failed"};
    }
}

providers::runpod::client_options client_options(std::string base_url, std::string api_key) {
    providers::runpod::client_options options;
    options.base_url = std::move(base_url);
    options.api_key = std::move(api_key);
    return options;
}

// Replies that only scripted faults produce: errors after an effect, 402 on an
// empty balance, ignored deletes and actions, a lagging list, a 429 burst.
void exercise_faults(asio::io_context& io, simulated::in_process_simulator& simulator,
                     simulated::sim_clock::time_point& now) {
    auto& faults = simulator.server->faults();
    const auto install = [&](std::string_view text) {
        auto plan = simulated::parse_fault_plan(text);
        if (!plan) {
            throw std::runtime_error{"invalid fault plan: " + plan.error()};
        }
        faults.replace(std::move(*plan));
    };
    providers::runpod::client runpod{io.get_executor(),
                                     client_options(simulator.base_url, simulator.api_key)};

    install(R"({"rules": [
        {"operation": "createPod", "fault": "errorAfterEffect", "status": 500, "times": 1},
        {"operation": "listPods", "fault": "listLag", "lagMs": 60000},
        {"operation": "getPod", "fault": "error", "status": 503, "times": 1},
        {"operation": "deletePod", "fault": "ignore", "times": 1},
        {"operation": "podAction", "fault": "ignore"}]})");
    (void)run_task(io, runpod.create_pod(make_request("psn-a-default-fault-00000006")));
    (void)run_task(io, runpod.list_pods());
    const auto created =
        run_task(io, runpod.create_pod(make_request("psn-a-default-fault-00000007")));
    if (!created) {
        throw std::runtime_error{"create after the scripted 500 failed"};
    }
    (void)run_task(io, runpod.get_pod(created->id));
    (void)run_task(io, runpod.terminate_pod(created->id));
    send_raw(io, simulator, http::verb::post, "/v2/pods/" + created->id + "/action",
             R"({"action": "stop"})");

    install(R"({"rules": [{"fault": "error", "status": 429, "retryAfterSeconds": 1,
                           "times": 1}]})");
    send_raw(io, simulator, http::verb::get, "/v2/pods", "");

    install(R"({"rules": []})");
    simulator.server->store().set_balance_empty(true, simulated::balance_effect::stop);
    (void)run_task(io, runpod.create_pod(make_request("psn-a-default-broke-00000008")));
    now += 1s;
    (void)run_task(io, runpod.list_pods());
    simulator.server->store().set_balance_empty(false, simulated::balance_effect::keep);
}

void exercise(asio::io_context& io, simulated::in_process_simulator& simulator,
              simulated::sim_clock::time_point& now) {
    providers::runpod::client runpod{io.get_executor(),
                                     client_options(simulator.base_url, simulator.api_key)};
    auto& store = simulator.server->store();

    // Creates: minimal, every optional field, awkward env.
    const auto minimal =
        run_task(io, runpod.create_pod(make_request("psn-a-default-minimal-00000001")));
    auto full = make_request("psn-a-default-full-00000002");
    full.gpu_count = 2;
    full.cloud = podsession::crd::cloud_type::community;
    full.data_center_ids = {"EU-RO-1", "US-KS-2"};
    full.ports = {"8000/http", "22/tcp"};
    full.env.emplace_back("AWKWARD", "a=b \"q\" 'single' \\ tab\t é 中文 🚀");
    full.env.emplace_back("EMPTY", "");
    full.volume_gb = 20;
    full.min_cuda_version = "12.4";
    full.container_disk_gb = 80;
    const auto created = run_task(io, runpod.create_pod(full));
    if (!minimal || !created) {
        throw std::runtime_error{"create failed"};
    }

    // Rejected creates: a volume under 10 GB (422), no capacity (400).
    auto small_volume = make_request("psn-a-default-small-00000003");
    small_volume.volume_gb = 5;
    (void)run_task(io, runpod.create_pod(small_volume));
    (void)store.admin_set_capacity(R"({"gpuId": "NVIDIA L4", "available": false})");
    auto no_capacity = make_request("psn-a-default-l4-00000004");
    no_capacity.gpu_type_id = "NVIDIA L4";
    (void)run_task(io, runpod.create_pod(no_capacity));

    // Reads through the life of a pod: provisioning, starting, running.
    (void)run_task(io, runpod.list_pods());
    (void)run_task(io, runpod.get_pod(created->id));
    now += 6s;
    (void)run_task(io, runpod.get_pod(created->id));
    now += 10s;
    (void)run_task(io, runpod.list_pods());

    // Pinned statuses.
    (void)store.admin_set_status(minimal->id, R"({"status": "ERROR"})");
    (void)run_task(io, runpod.get_pod(minimal->id));
    (void)store.admin_set_status(minimal->id, R"({"status": "EXITED"})");
    (void)run_task(io, runpod.list_pods());

    // Actions, including one invalid for the status (409).
    send_raw(io, simulator, http::verb::post, "/v2/pods/" + created->id + "/action",
             R"({"action": "restart"})");
    send_raw(io, simulator, http::verb::post, "/v2/pods/" + created->id + "/action",
             R"({"action": "stop"})");
    send_raw(io, simulator, http::verb::post, "/v2/pods/" + created->id + "/action",
             R"({"action": "stop"})");
    send_raw(io, simulator, http::verb::post, "/v2/pods/" + created->id + "/action",
             R"({"action": "start"})");
    send_raw(io, simulator, http::verb::post, "/v2/pods/" + created->id + "/action",
             R"({"action": "terminate"})");

    // Deletes and reads of gone pods (404), a wrong key (401), a wrong method
    // (405) and an unknown pod path (404).
    (void)run_task(io, runpod.terminate_pod(minimal->id));
    (void)run_task(io, runpod.terminate_pod(minimal->id));
    (void)run_task(io, runpod.get_pod(minimal->id));
    providers::runpod::client wrong_key{io.get_executor(),
                                        client_options(simulator.base_url, "wrong")};
    (void)run_task(io, wrong_key.list_pods());
    send_raw(io, simulator, http::verb::put, "/v2/pods", "{}");
    send_raw(io, simulator, http::verb::get, "/v2/pods/abc/unknown", "");

    exercise_faults(io, simulator, now);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: runpod_exchange_dump OUTPUT.json\n";
        return 2;
    }

    asio::io_context io;
    auto now = simulated::sim_clock::now();
    simulated::simulator_options options;
    options.store.now = [&now] { return now; };
    options.store.schedule = simulated::boot_schedule{5s, 5s};
    options.record_exchanges = true;
    auto simulator = simulated::start_in_process(io.get_executor(), options);
    exercise(io, simulator, now);

    // A second simulator with a quota of one request per minute, for a 429.
    options.rate_limits = {{"minute", 1, 60s}};
    auto limited = simulated::start_in_process(io.get_executor(), options);
    // The client would wait for the window instead of sending, so the second
    // create goes out raw.
    providers::runpod::client runpod{io.get_executor(),
                                     client_options(limited.base_url, limited.api_key)};
    (void)run_task(io, runpod.list_pods());
    send_raw(
        io, limited, http::verb::post, "/v2/pods",
        providers::runpod::encode_create_request(make_request("psn-a-default-limited-00000005")));

    json::array exchanges;
    for (const auto* source : {&simulator, &limited}) {
        for (const auto& record : source->server->exchanges()) {
            exchanges.push_back(simulated::to_json(record));
        }
    }
    std::ofstream output{argv[1]};
    output << json::serialize(json::object{{"exchanges", std::move(exchanges)}});
    simulator.server->stop();
    limited.server->stop();
    io.run_for(5s);
    return output ? 0 : 1;
}
