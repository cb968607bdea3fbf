// proxy_relay_fixed: the relay alone, forwarding to a fixed backend (no store). Used by
// bench/proxy/run.sh to measure the data path apart from the check loop.
//   proxy_relay_fixed <listen-port> <backend-host> <backend-port> [buffer-bytes] [threads]
#include <asio.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "proxy/relay.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr,
                 "usage: %s <listen-port> <backend-host> <backend-port> [buffer-bytes] [threads]\n",
                 argv[0]);
    return 2;
  }
  asio::io_context io(1);
  stolon::proxy::RelayOptions o;
  o.port = static_cast<uint16_t>(std::atoi(argv[1]));
  if (argc > 4) o.buffer_size = static_cast<size_t>(std::atol(argv[4]));
  o.threads = 0;  // one per CPU, as stolon-proxy
  if (argc > 5) o.threads = static_cast<unsigned>(std::atoi(argv[5]));
  stolon::proxy::Relay relay(o);
  if (auto st = relay.StartListening(); !st.ok()) {
    std::fprintf(stderr, "%s\n", std::string(st.message()).c_str());
    return 1;
  }
  relay.SetDestination(asio::ip::tcp::endpoint(asio::ip::make_address(argv[2]),
                                               static_cast<uint16_t>(std::atoi(argv[3]))));
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](auto, int) { io.stop(); });
  io.run();
  return 0;
}
