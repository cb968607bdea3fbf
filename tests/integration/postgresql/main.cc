// The postgresql integration tests drop root privileges before anything else (see
// support/postgres.h): the library runs postgres as the calling process' user.
#include "support/postgres.h"

int main(int argc, char** argv) { return stolon::testing::PostgresTestMain(argc, argv); }
