// The doctest runner shared by every test executable in tests/ (and tests/patterns/).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
