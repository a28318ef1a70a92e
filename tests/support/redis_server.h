#pragma once
// The Redis server the scale-out tests use: the one .ci/run (scripts/test.sh) started,
// named by VOICEMAN_TEST_REDIS, or else a private redis-server on a Unix socket that
// lives as long as the test process. Empty when neither is available.
#include <string>

namespace voiceman::testing {

std::string test_redis_url();

// A job name no other test process uses on the shared server.
std::string unique_job_name(const std::string& test_name);

}  // namespace voiceman::testing
