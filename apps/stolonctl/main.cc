// stolonctl: parses the command line and runs one command against the store.
#include <iostream>

#include "ctl/commands.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  stolon::ctl::CtlIo io{std::cin, std::cout, std::cerr};
  return stolon::ctl::RunStolonctl(args, io, stolon::ctl::DefaultStoreFactory());
}
