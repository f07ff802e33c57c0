// GetCACaps: every keyword is honest (what it offers is accepted), and the
// clients that read the list in their own ways find what they need.
#include <boost/test/unit_test.hpp>

#include <strings.h>

#include <sstream>

#include "enroll_fixture.hpp"

using namespace enroll_test;
using crypto::ContentCipher;
using crypto::DigestAlg;

namespace {

std::vector<std::string> caps_lines(scep::Service& svc) {
  auto caps = svc.get_ca_caps("main");
  BOOST_REQUIRE_MESSAGE(caps, (caps ? "" : caps.error().detail));
  std::vector<std::string> out;
  std::istringstream in(*caps);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

/// strongSwan 5.9.8's pki --scep (src/pki/scep/scep.c, commands/scep.c):
/// line i of its keyword table sets bit 1 << i, but the checks AND the flags
/// with the table index itself (SCEP_CAPS_AES = 0, SCEP_CAPS_SHA256 = 2,
/// SCEP_CAPS_POSTPKIOPERATION = 7, SCEP_CAPS_SCEPSTANDARD = 8,
/// SCEP_CAPS_RENEWAL = 10), strongswan/strongswan#1607.
struct Strongswan598Caps {
  std::uint32_t flags = 0;
  explicit Strongswan598Caps(const std::vector<std::string>& lines) {
    static const char* names[] = {"AES",          "DES3",          "SHA-256", "SHA-384",
                                  "SHA-512",      "SHA-224",       "SHA-1",   "POSTPKIOperation",
                                  "SCEPStandard", "GetNextCACert", "Renewal"};
    for (const auto& line : lines)
      for (std::uint32_t i = 0; i < std::size(names); ++i)
        if (strncasecmp(names[i], line.c_str(), line.size()) == 0) flags |= 1u << i;
  }
  bool sha256() const { return (flags & 2) || (flags & 8); }
  bool aes() const { return (flags & 0) || (flags & 8); }
  bool post() const { return (flags & 7) || (flags & 8); }
  bool renewal() const { return (flags & 10) != 0; }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(scep_caps)

BOOST_AUTO_TEST_CASE(every_digest_offered_is_accepted_for_the_message_and_the_pkcs10) {
  Fixture f;  // its policy has the default allowed_digests
  f.add_secret("CAPS-DIGESTS", 10);
  int n = 0, offered = 0;
  for (const auto& line : caps_lines(f.svc)) {
    auto alg = crypto::digest_from_name(line);
    if (!alg || line.rfind("SHA", 0) != 0) continue;
    ++offered;
    BOOST_TEST_CONTEXT("caps keyword " << line) {
      Send s;
      s.digest = *alg;
      s.transaction_id = "tid-caps-digest-" + std::to_string(n++);
      CsrSpec spec;
      spec.digest = *alg;
      auto r = f.exchange(f.csr("CAPS-DIGESTS", spec), s);
      require_success(r);
      BOOST_REQUIRE(r.sd.digest);
      BOOST_TEST((*r.sd.digest == *alg));
    }
  }
  BOOST_TEST(offered == 4);  // SHA-1, SHA-256, SHA-384, SHA-512
}

BOOST_AUTO_TEST_CASE(every_cipher_offered_is_accepted) {
  Fixture f;
  f.add_secret("CAPS-CIPHERS", 10);
  int n = 0;
  for (const auto& line : caps_lines(f.svc)) {
    std::optional<ContentCipher> cipher;
    if (line == "AES") cipher = ContentCipher::aes128_cbc;
    if (line == "DES3") cipher = ContentCipher::des3_cbc;
    if (!cipher) continue;
    BOOST_TEST_CONTEXT("caps keyword " << line) {
      Send s;
      s.cipher = *cipher;
      s.transaction_id = "tid-caps-cipher-" + std::to_string(n++);
      require_success(f.exchange(f.csr("CAPS-CIPHERS"), s));
    }
  }
  BOOST_TEST(n == 2);
}

BOOST_AUTO_TEST_CASE(keywords_are_the_rfc_ones_plus_sha_384) {
  Fixture f;
  std::vector<std::string> want{"POSTPKIOperation", "Renewal", "AES",     "DES3",        "SHA-1",
                                "SHA-256",          "SHA-384", "SHA-512", "SCEPStandard"};
  BOOST_TEST(caps_lines(f.svc) == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(strongswan_5_9_8_finds_aes_sha256_post_and_renewal) {
  Fixture f;
  Strongswan598Caps caps(caps_lines(f.svc));
  BOOST_TEST(caps.aes());  // without SHA-384: "AES_CBC encryption algorithm not supported by CA"
  BOOST_TEST(caps.sha256());
  BOOST_TEST(caps.post());
  BOOST_TEST(caps.renewal());
  // The same list without SHA-384 is what it refused.
  std::vector<std::string> old;
  for (const auto& l : caps_lines(f.svc))
    if (l != "SHA-384") old.push_back(l);
  BOOST_TEST(!Strongswan598Caps(old).aes());
}

BOOST_AUTO_TEST_SUITE_END()
