// The digest of a signature: from the OID (sha256WithRSAEncryption) or from
// the RSASSA-PSS parameters (RFC 4055), for PKCS#10 requests and SignerInfos.
#include <boost/test/unit_test.hpp>

#include <openssl/rsa.h>

#include "crypto/cms.hpp"
#include "support/requests.hpp"
#include "support/test_pki.hpp"

using crypto::DigestAlg;
using crypto::SignaturePadding;
using testing::CsrSpec;

namespace {

crypto::Csr csr_signed(CsrSpec spec) {
  auto csr = crypto::Csr::from_der(testing::make_csr(spec, testing::test_pki().client_key));
  BOOST_REQUIRE(csr);
  return *csr;
}

CsrSpec pss(DigestAlg digest) {
  CsrSpec spec;
  spec.padding = SignaturePadding::pss;
  spec.digest = digest;
  return spec;
}

using AlgorPtr = crypto::OsslPtr<X509_ALGOR, X509_ALGOR_free>;
using PssParamsPtr = crypto::OsslPtr<RSA_PSS_PARAMS, RSA_PSS_PARAMS_free>;

/// rsassaPss with the given parameters (DER of RSASSA-PSS-params).
AlgorPtr pss_algor(const RSA_PSS_PARAMS* params) {
  AlgorPtr alg(X509_ALGOR_new());
  ASN1_STRING* seq = nullptr;
  BOOST_REQUIRE(ASN1_item_pack(const_cast<RSA_PSS_PARAMS*>(params), ASN1_ITEM_rptr(RSA_PSS_PARAMS), &seq));
  BOOST_REQUIRE(X509_ALGOR_set0(alg.get(), OBJ_nid2obj(NID_rsassaPss), V_ASN1_SEQUENCE, seq) == 1);
  return alg;
}

AlgorPtr algor(int nid, int ptype = V_ASN1_UNDEF) {
  AlgorPtr alg(X509_ALGOR_new());
  BOOST_REQUIRE(X509_ALGOR_set0(alg.get(), OBJ_nid2obj(nid), ptype, nullptr) == 1);
  return alg;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(crypto_signature_scheme)

BOOST_AUTO_TEST_CASE(a_pkcs1_csr_names_its_digest_in_the_oid) {
  for (auto d : {DigestAlg::sha1, DigestAlg::sha256, DigestAlg::sha384, DigestAlg::sha512}) {
    CsrSpec spec;
    spec.digest = d;
    auto csr = csr_signed(spec);
    BOOST_TEST(csr.signature_valid());
    BOOST_TEST((csr.signature_digest() == d), crypto::digest_name(d));
  }
}

BOOST_AUTO_TEST_CASE(a_pss_csr_names_its_digest_in_the_parameters) {
  for (auto d : {DigestAlg::sha1, DigestAlg::sha224, DigestAlg::sha256, DigestAlg::sha384, DigestAlg::sha512}) {
    BOOST_TEST_CONTEXT(crypto::digest_name(d)) {
      auto csr = csr_signed(pss(d));
      BOOST_TEST(csr.signature_valid());
      BOOST_TEST((csr.signature_digest() == d));
    }
  }
}

BOOST_AUTO_TEST_CASE(a_pss_csr_whose_mgf1_hash_differs_has_no_digest) {
  CsrSpec spec = pss(DigestAlg::sha256);
  spec.mgf1_digest = DigestAlg::sha1;
  auto csr = csr_signed(spec);
  BOOST_TEST(csr.signature_valid());  // valid, but not a combination this server takes
  BOOST_TEST(!csr.signature_digest());
}

BOOST_AUTO_TEST_CASE(pss_parameters_default_as_rfc_4055_says) {
  PssParamsPtr params(RSA_PSS_PARAMS_new());
  auto s = crypto::signature_scheme(pss_algor(params.get()).get());  // an empty SEQUENCE: SHA-1, MGF1-SHA-1
  BOOST_TEST((s.padding == SignaturePadding::pss));
  BOOST_TEST((s.digest == DigestAlg::sha1));

  params->hashAlgorithm = X509_ALGOR_new();
  X509_ALGOR_set_md(params->hashAlgorithm, EVP_sha256());
  BOOST_TEST(!crypto::signature_scheme(pss_algor(params.get()).get()).digest);  // SHA-256 with MGF1-SHA-1
}

BOOST_AUTO_TEST_CASE(pss_without_parameters_or_with_another_trailer_has_no_digest) {
  auto bare = crypto::signature_scheme(algor(NID_rsassaPss).get());
  BOOST_TEST((bare.padding == SignaturePadding::pss));
  BOOST_TEST(!bare.digest);

  PssParamsPtr params(RSA_PSS_PARAMS_new());
  params->trailerField = ASN1_INTEGER_new();
  ASN1_INTEGER_set(params->trailerField, 2);
  BOOST_TEST(!crypto::signature_scheme(pss_algor(params.get()).get()).digest);
}

BOOST_AUTO_TEST_CASE(other_algorithms_keep_what_the_oid_says) {
  auto rsa = crypto::signature_scheme(algor(NID_rsaEncryption, V_ASN1_NULL).get());  // CMS: digest elsewhere
  BOOST_TEST((rsa.padding == SignaturePadding::pkcs1));
  BOOST_TEST(!rsa.digest);
  auto sha384 = crypto::signature_scheme(algor(NID_sha384WithRSAEncryption, V_ASN1_NULL).get());
  BOOST_TEST((sha384.padding == SignaturePadding::pkcs1));
  BOOST_TEST((sha384.digest == DigestAlg::sha384));
  auto ecdsa = crypto::signature_scheme(algor(NID_ecdsa_with_SHA256).get());
  BOOST_TEST((ecdsa.padding == SignaturePadding::other));
  BOOST_TEST((ecdsa.digest == DigestAlg::sha256));
  BOOST_TEST(!crypto::signature_scheme(nullptr).digest);
}

BOOST_AUTO_TEST_CASE(a_pss_signer_info_is_made_verified_and_reported) {
  const auto& pki = testing::test_pki();
  for (auto padding : {SignaturePadding::pss, SignaturePadding::pkcs1}) {
    auto der = crypto::make_signed_data(core::to_bytes("content"), pki.root.cert, pki.root.key, DigestAlg::sha384, {},
                                        {}, padding);
    BOOST_REQUIRE(der);
    auto sd = crypto::parse_signed_data(*der);
    BOOST_REQUIRE(sd);
    BOOST_TEST(sd->signature_valid);
    BOOST_TEST((sd->digest == DigestAlg::sha384));
    BOOST_TEST((sd->signature.padding == padding));
    // PKCS#1 v1.5 SignerInfos say rsaEncryption and leave the digest to digestAlgorithm.
    BOOST_TEST(
        (sd->signature.digest == (padding == SignaturePadding::pss ? std::optional(DigestAlg::sha384) : std::nullopt)));
  }
}

BOOST_AUTO_TEST_SUITE_END()
