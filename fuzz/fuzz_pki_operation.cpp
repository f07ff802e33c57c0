// libFuzzer: a PKIOperation body through scep::Service over a real store, the
// whole path from CMS parsing to issuing and storing a certificate.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "crypto/cms.hpp"
#include "fuzz_store.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  scep::Service& svc = fuzz::FuzzStore::instance().next_run();
  auto reply = svc.pki_operation("", core::ByteView(data, size), "192.0.2.1");
  if (!reply) {
    fuzz::require_client_error(reply.error(), "pki_operation");
  } else {
    // Whatever was asked, the answer is a CertRep the CA signed.
    auto sd = crypto::parse_signed_data(*reply);
    if (!sd || !sd->signature_valid) {
      std::fprintf(stderr, "pki_operation: the reply is not a valid SignedData: %s\n",
                   sd ? "bad signature" : sd.error().detail.c_str());
      std::abort();
    }
  }
  fuzz::end_run();
  return 0;
}
