// Human-readable printing of the model: indented JSON, so test failures and debug logs can be
// diffed by eye.
#include <ostream>

#include "cluster/cluster.h"
#include "cluster/json.h"

namespace stolon::cluster {
namespace {

template <typename T>
std::ostream& Print(std::ostream& os, const T& v) {
  return os << ToJson(v).dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::ostream& operator<<(std::ostream& os, const ClusterData& cd) { return Print(os, cd); }
std::ostream& operator<<(std::ostream& os, const ClusterSpec& spec) { return Print(os, spec); }
std::ostream& operator<<(std::ostream& os, const KeeperInfo& ki) { return Print(os, ki); }
std::ostream& operator<<(std::ostream& os, const SentinelInfo& si) { return Print(os, si); }
std::ostream& operator<<(std::ostream& os, const ProxyInfo& pi) { return Print(os, pi); }
void PrintTo(const ClusterData& cd, std::ostream* os) { *os << '\n' << cd; }
void PrintTo(const ClusterSpec& spec, std::ostream* os) { *os << '\n' << spec; }
void PrintTo(const KeeperInfo& ki, std::ostream* os) { *os << ki; }
void PrintTo(const SentinelInfo& si, std::ostream* os) { *os << si; }
void PrintTo(const ProxyInfo& pi, std::ostream* os) { *os << pi; }

}  // namespace stolon::cluster
