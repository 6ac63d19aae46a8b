#include "net/detail/stream_operations.hpp"

namespace podsession::net::detail {

template struct stream_operations<plain_stream>;

}  // namespace podsession::net::detail
