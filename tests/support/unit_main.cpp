#define BOOST_TEST_MODULE SCEP_TEST_LAYER
#include <boost/test/unit_test.hpp>
