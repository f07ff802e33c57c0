#pragma once
// Owning handles for OpenSSL objects. Results of new/get1/d2i go straight in here.

#include <memory>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace crypto {

template <auto FreeFn>
struct OsslDeleter {
  template <class T>
  void operator()(T* p) const noexcept {
    FreeFn(p);
  }
};
template <class T, auto FreeFn>
using OsslPtr = std::unique_ptr<T, OsslDeleter<FreeFn>>;

using X509Ptr = OsslPtr<X509, X509_free>;
using X509ReqPtr = OsslPtr<X509_REQ, X509_REQ_free>;
using X509NamePtr = OsslPtr<X509_NAME, X509_NAME_free>;
using X509CrlPtr = OsslPtr<X509_CRL, X509_CRL_free>;
using X509ExtPtr = OsslPtr<X509_EXTENSION, X509_EXTENSION_free>;
using X509PubkeyPtr = OsslPtr<X509_PUBKEY, X509_PUBKEY_free>;
using EvpPkeyPtr = OsslPtr<EVP_PKEY, EVP_PKEY_free>;
using EvpPkeyCtxPtr = OsslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using EvpMdCtxPtr = OsslPtr<EVP_MD_CTX, EVP_MD_CTX_free>;
using BioPtr = OsslPtr<BIO, BIO_free_all>;
using BignumPtr = OsslPtr<BIGNUM, BN_free>;
using Asn1IntegerPtr = OsslPtr<ASN1_INTEGER, ASN1_INTEGER_free>;
using Asn1TimePtr = OsslPtr<ASN1_TIME, ASN1_TIME_free>;
using Asn1ObjectPtr = OsslPtr<ASN1_OBJECT, ASN1_OBJECT_free>;
using Asn1StringPtr = OsslPtr<ASN1_STRING, ASN1_STRING_free>;
using CmsPtr = OsslPtr<CMS_ContentInfo, CMS_ContentInfo_free>;
using Pkcs7Ptr = OsslPtr<PKCS7, PKCS7_free>;
using RsaOaepParamsPtr = OsslPtr<RSA_OAEP_PARAMS, RSA_OAEP_PARAMS_free>;

/// Buffers OpenSSL allocates for the caller (i2d output, BN_bn2hex text,
/// ASN1_STRING_to_UTF8, OPENSSL_memdup): OPENSSL_free is a macro, so a
/// function here stands in for it.
inline void free_ossl_buffer(void* p) { OPENSSL_free(p); }
using OsslBytesPtr = OsslPtr<unsigned char, free_ossl_buffer>;
using OsslCharsPtr = OsslPtr<char, free_ossl_buffer>;

/// Stacks that own their elements: pop_free frees each one, then the stack.
inline void free_x509_stack(STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); }
using X509StackPtr = OsslPtr<STACK_OF(X509), free_x509_stack>;
inline void free_x509_ext_stack(STACK_OF(X509_EXTENSION) * s) { sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free); }
using X509ExtStackPtr = OsslPtr<STACK_OF(X509_EXTENSION), free_x509_ext_stack>;

/// The one way copies of an immutable value (Certificate, PublicKey,
/// PrivateKey, Csr, Envelope) share an OpenSSL object: a shared_ptr made from
/// its OsslPtr (so the OsslPtr's deleter frees it), copied by default. Not
/// the objects' own reference counts: X509_REQ and CMS_ContentInfo have none.
template <class T>
using OsslShared = std::shared_ptr<T>;

/// A new owner of a certificate OpenSSL holds (an element of a stack in a
/// parsed message), which outlives the message: the one X509_up_ref.
inline X509Ptr new_ref(X509* x) {
  if (x) X509_up_ref(x);
  return X509Ptr(x);
}

}  // namespace crypto
