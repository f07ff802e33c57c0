// libFuzzer: a GET query string through the query parser, the message
// decoder and web::dispatch (every GET operation, PKIOperation included).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_store.hpp"
#include "web/dispatch.hpp"
#include "web/query.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  web::Query q = web::parse_query(text);
  (void)web::percent_decode(text, true);
  (void)web::percent_decode(text, false);
  (void)web::decode_message(text);
  if (q.message) (void)web::decode_message(*q.message);

  web::Request req;
  req.method = web::Method::get;
  req.query = std::string(text);
  req.remote_addr = "192.0.2.1";
  web::Response resp = web::dispatch(req, fuzz::FuzzStore::instance().next_run());
  // DESIGN.md: never a 500 for bad input.
  if (resp.status < 200 || resp.status >= 500) {
    std::fprintf(stderr, "dispatch: status %d for a client's query: %s\n", resp.status, resp.log.c_str());
    std::abort();
  }
  fuzz::end_run();
  return 0;
}
