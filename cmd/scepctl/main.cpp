#include <cstdlib>
#include <iostream>

#include "audit.hpp"
#include "crypto/pkcs11.hpp"
#include "crypto/rng.hpp"
#include "env.hpp"

int main(int argc, char** argv) {
  core::SystemClock clock;
  crypto::SystemRng rng;
  const char* store = std::getenv("SCEP_STORE");
  if (const char* pin = std::getenv(crypto::pkcs11_pin_env.data())) crypto::set_pkcs11_environment_pin(pin);
  scepctl::Env env{std::cout,
                   std::cerr,
                   clock,
                   rng,
                   store && *store ? store : "/var/lib/scep",
                   false,
                   {},
                   scepctl::RunAs::store_owner,
                   scepctl::current_operator()};
  try {
    return scepctl::run(std::vector<std::string>(argv + 1, argv + argc), env);
  } catch (const std::exception& e) {
    std::cerr << "scepctl: error: " << e.what() << "\n";
    return 1;
  }
}
