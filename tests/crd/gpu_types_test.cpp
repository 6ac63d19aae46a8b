#include "crd/gpu_types.hpp"

#include <algorithm>

#include <gtest/gtest.h>

namespace podsession::crd {
namespace {

TEST(gpu_types, resolves_every_alias_to_a_known_id) {
    EXPECT_EQ(gpu_aliases().size(), 15u);
    for (const auto& alias : gpu_aliases()) {
        SCOPED_TRACE(alias.alias);
        EXPECT_EQ(resolve_gpu_type(alias.alias), std::string{alias.runpod_id});
        EXPECT_NE(std::ranges::find(known_gpu_ids(), alias.runpod_id), known_gpu_ids().end());
    }
}

TEST(gpu_types, maps_aliases_as_documented) {
    EXPECT_EQ(resolve_gpu_type("h100"), "NVIDIA H100 80GB HBM3");
    EXPECT_EQ(resolve_gpu_type("h100-pcie"), "NVIDIA H100 PCIe");
    EXPECT_EQ(resolve_gpu_type("a100-40g"), "NVIDIA A100-SXM4-40GB");
    EXPECT_EQ(resolve_gpu_type("mi300x"), "AMD Instinct MI300X OAM");
}

TEST(gpu_types, accepts_exact_runpod_ids_only) {
    EXPECT_EQ(resolve_gpu_type("NVIDIA H100 PCIe"), "NVIDIA H100 PCIe");
    EXPECT_EQ(resolve_gpu_type("NVIDIA A100-SXM4-80GB"), "NVIDIA A100-SXM4-80GB");
    EXPECT_FALSE(resolve_gpu_type("nvidia h100 pcie"));
    EXPECT_FALSE(resolve_gpu_type("H100"));
    EXPECT_FALSE(resolve_gpu_type("h100x"));
    EXPECT_FALSE(resolve_gpu_type(""));
}

}  // namespace
}  // namespace podsession::crd
