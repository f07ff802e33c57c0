// scep.cgi: the SCEP endpoint as a CGI/1.1 program. The store is
// $SCEP_STORE, else /var/lib/scep.

#include <cstdlib>
#include <iostream>

#include <fmt/format.h>

#include "core/clock.hpp"
#include "crypto/rng.hpp"
#include "scep/service.hpp"
#include "store/store.hpp"
#include "web/cgi.hpp"
#include "web/dispatch.hpp"

namespace {

web::Response handle(const web::Request& req) {
  const char* root = std::getenv("SCEP_STORE");
  auto store = store::Store::open(root && *root ? root : "/var/lib/scep", store::OpenMode::existing);
  if (!store) {
    std::cerr << "scep.cgi: " << store.error().detail << "\n";
    return web::Response::text(500, "internal error");
  }
  store::Repository repo(*store);
  core::SystemClock clock;
  crypto::SystemRng rng;
  scep::Service service(repo, clock, rng);
  web::Response r = web::dispatch(req, service);
  if (!r.log.empty()) std::cerr << "scep.cgi: " << r.log << "\n";
  return r;
}

}  // namespace

int main() {
  std::ios::sync_with_stdio(false);
  web::Response response;
  web::Method method = web::Method::get;
  try {
    auto req = web::read_cgi_request([](const char* n) { return std::getenv(n); }, std::cin);
    if (req) {
      method = req->method;
      response = handle(*req);
    } else {
      response = std::move(req.error());
    }
  } catch (const std::exception& e) {
    std::cerr << "scep.cgi: " << e.what() << "\n";
    response = web::Response::text(500, "internal error");
  }
  std::cout << web::cgi_response(response, method);
  std::cout.flush();
  return 0;
}
