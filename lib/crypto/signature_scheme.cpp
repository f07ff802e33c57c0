#include "crypto/signature_scheme.hpp"

#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "crypto/ossl_error.hpp"
#include "crypto/ossl_ptr.hpp"

namespace crypto {

namespace {

using PssParamsPtr = OsslPtr<RSA_PSS_PARAMS, RSA_PSS_PARAMS_free>;
using X509AlgorPtr = OsslPtr<X509_ALGOR, X509_ALGOR_free>;

/// The digest of an optional AlgorithmIdentifier whose absence means SHA-1.
std::optional<DigestAlg> digest_or_sha1(const X509_ALGOR* alg) {
  if (!alg) return DigestAlg::sha1;
  return digest_from_nid(OBJ_obj2nid(alg->algorithm));
}

std::optional<DigestAlg> pss_digest(const X509_ALGOR* alg) {
  int ptype = V_ASN1_UNDEF;
  const void* pval = nullptr;
  X509_ALGOR_get0(nullptr, &ptype, &pval, alg);
  if (ptype != V_ASN1_SEQUENCE || !pval) return std::nullopt;  // RFC 4055: parameters MUST be present
  const auto* seq = static_cast<const ASN1_STRING*>(pval);
  const unsigned char* p = seq->data;
  PssParamsPtr params(d2i_RSA_PSS_PARAMS(nullptr, &p, seq->length));
  clear_ossl_errors();
  if (!params || p != seq->data + seq->length) return std::nullopt;
  auto digest = digest_or_sha1(params->hashAlgorithm);
  if (params->trailerField && ASN1_INTEGER_get(params->trailerField) != 1) return std::nullopt;
  if (!params->maskGenAlgorithm) return digest == DigestAlg::sha1 ? digest : std::nullopt;
  // d2i leaves RSA_PSS_PARAMS::maskHash empty: decode MGF1's parameter.
  const X509_ALGOR* mgf = params->maskGenAlgorithm;
  if (OBJ_obj2nid(mgf->algorithm) != NID_mgf1 || !mgf->parameter) return std::nullopt;
  X509AlgorPtr mgf_hash(
      static_cast<X509_ALGOR*>(ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(X509_ALGOR), mgf->parameter)));
  clear_ossl_errors();
  if (!mgf_hash || digest_or_sha1(mgf_hash.get()) != digest) return std::nullopt;
  return digest;
}

}  // namespace

SignatureScheme signature_scheme(const X509_ALGOR* alg) {
  SignatureScheme s;
  if (!alg) return s;
  int nid = OBJ_obj2nid(alg->algorithm);
  if (nid == NID_rsassaPss) {
    s.padding = SignaturePadding::pss;
    s.digest = pss_digest(alg);
    return s;
  }
  if (nid == NID_rsaEncryption) {
    s.padding = SignaturePadding::pkcs1;
    return s;
  }
  int md_nid = NID_undef, pk_nid = NID_undef;
  if (OBJ_find_sigid_algs(nid, &md_nid, &pk_nid) != 1) return s;
  if (pk_nid == NID_rsaEncryption) s.padding = SignaturePadding::pkcs1;
  s.digest = digest_from_nid(md_nid);
  return s;
}

}  // namespace crypto
