// Planning cost of one full resync: every session planned against the pods the
// provider listed, the way the executor does it (pods looked up by name).
#include <benchmark/benchmark.h>

#include <string>
#include <unordered_map>
#include <vector>

#include "reconcile/planner.hpp"
#include "reconcile/pod_name.hpp"

namespace {

using namespace podsession;
using namespace std::chrono;

const crd::timestamp now = sys_days{year{2026} / December / 4} + hours{12};

struct fleet {
    std::vector<crd::pod_session> sessions;
    std::vector<crd::observed_pod> pods;
    std::unordered_map<std::string, std::size_t> pod_by_name;
};

// Running sessions, each with its RUNNING pod and a recent touch.
fleet make_fleet(std::size_t count) {
    fleet result;
    result.sessions.reserve(count);
    result.pods.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        crd::pod_session session;
        session.metadata.name = "user-" + std::to_string(i);
        session.metadata.namespace_name = "apps";
        char uid[37];
        std::snprintf(uid, sizeof uid, "%08zx-0000-4000-8000-000000000000", i);
        session.metadata.uid = uid;
        session.metadata.annotations["podsession.io/last-touched"] = crd::format_rfc3339(now - seconds{30});
        session.spec.image = "ghcr.io/example/llm:1";
        session.spec.gpu.types = {"NVIDIA H100 80GB HBM3", "NVIDIA H100 PCIe"};
        session.spec.ports = {{8000, crd::port_protocol::http}};
        session.spec.idle_ttl = seconds{900};

        crd::observed_pod pod;
        pod.id = "pod" + std::to_string(i);
        pod.name = reconcile::make_pod_name("default", "apps", session.metadata.name, session.metadata.uid);
        pod.status = crd::pod_status::running;
        pod.gpu_type = "NVIDIA H100 80GB HBM3";
        pod.gpu_count = 1;
        pod.cost_per_hour = 2.99;
        pod.created_at = now - minutes{10};
        pod.started_at = now - minutes{8};
        pod.session_uid = session.metadata.uid;

        session.status.phase = crd::session_phase::running;
        session.status.pod_id = pod.id;
        session.status.pod_name = pod.name;
        session.status.created_at = pod.created_at;
        session.status.ready_at = pod.started_at;

        result.pod_by_name.emplace(pod.name, i);
        result.sessions.push_back(std::move(session));
        result.pods.push_back(std::move(pod));
    }
    return result;
}

void plan_every_session(benchmark::State& state) {
    const auto count = static_cast<std::size_t>(state.range(0));
    const auto sessions = make_fleet(count);
    const reconcile::settings config;
    const reconcile::provider_state provider;
    for (auto _ : state) {
        reconcile::fleet_usage usage = reconcile::measure_usage(sessions.pods, config);
        std::size_t actions = 0;
        for (const auto& session : sessions.sessions) {
            const auto& pod = sessions.pods[sessions.pod_by_name.at(session.status.pod_name)];
            const reconcile::session_input input{&session, false, {}, true, {}};
            const auto plan = reconcile::plan_session(input, std::span{&pod, 1}, usage, provider, now, config);
            actions += plan.actions.size();
        }
        benchmark::DoNotOptimize(actions);
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(count));
}

// As `plan_every_session`, but with the fleet usage measured again for every
// session, as the executor did before it kept the usage up to date as pods
// change: the cost of a resync then grows with sessions times pods.
void plan_every_session_measuring_usage_each_time(benchmark::State& state) {
    const auto count = static_cast<std::size_t>(state.range(0));
    const auto sessions = make_fleet(count);
    const reconcile::settings config;
    const reconcile::provider_state provider;
    for (auto _ : state) {
        std::size_t actions = 0;
        for (const auto& session : sessions.sessions) {
            reconcile::fleet_usage usage = reconcile::measure_usage(sessions.pods, config);
            const auto& pod = sessions.pods[sessions.pod_by_name.at(session.status.pod_name)];
            const reconcile::session_input input{&session, false, {}, true, {}};
            const auto plan = reconcile::plan_session(input, std::span{&pod, 1}, usage, provider, now, config);
            actions += plan.actions.size();
        }
        benchmark::DoNotOptimize(actions);
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(count));
}

void plan_orphans_of_fleet(benchmark::State& state) {
    const auto count = static_cast<std::size_t>(state.range(0));
    const auto sessions = make_fleet(count);
    std::map<std::string, std::string, std::less<>> claimed;
    for (const auto& session : sessions.sessions) {
        claimed.emplace(session.status.pod_name, session.metadata.uid);
    }
    const reconcile::settings config;
    for (auto _ : state) {
        auto plan = reconcile::plan_orphans(sessions.pods, claimed, true, now, config);
        benchmark::DoNotOptimize(plan);
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(count));
}

}  // namespace

BENCHMARK(plan_every_session)->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);
// 100k is left out: one iteration would take about 50 s, estimated from the
// 10k time and the square growth.
BENCHMARK(plan_every_session_measuring_usage_each_time)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(plan_orphans_of_fleet)->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
