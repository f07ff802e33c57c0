// crypto/pkcs11.hpp against SoftHSM2: a token initialised in a temp dir
// (SOFTHSM2_CONF) once per process, before the module is loaded. Its own
// executable: the registry and the module stay loaded for the process.
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <fmt/format.h>

#include "ca/authority.hpp"
#include "crypto/certificate.hpp"
#include "crypto/pkcs11.hpp"
#include "crypto/rng.hpp"
#include "store/cache.hpp"
#include "store/store.hpp"
#include "support/temp_dir.hpp"

namespace {

using core::Errc;

constexpr const char* softhsm = "/usr/lib/softhsm/libsofthsm2.so";

/// Two tokens, "unit" and "other" (PIN 123456), with an RSA key "rsa" and an
/// EC P-256 key "ec" made on "unit" by prepare_pkcs11_key: the first use of
/// the module in this process.
struct Token {
  testing::TempDir dir;
  std::string pin_file, wrong_pin_file;
  Token() {
    std::filesystem::create_directory(dir.path() / "tokens");
    std::string conf = (dir.path() / "softhsm2.conf").string();
    std::ofstream(conf) << "directories.tokendir = " << (dir.path() / "tokens").string()
                        << "\nobjectstore.backend = file\nlog.level = ERROR\n";
    ::setenv("SOFTHSM2_CONF", conf.c_str(), 1);
    for (const char* label : {"unit", "other"}) {
      std::string cmd =
          fmt::format("softhsm2-util --init-token --free --label {} --pin 123456 --so-pin 654321 >/dev/null", label);
      if (std::system(cmd.c_str()) != 0) throw std::runtime_error("softhsm2-util --init-token failed");
    }
    pin_file = (dir.path() / "pin").string();
    wrong_pin_file = (dir.path() / "wrong-pin").string();
    std::ofstream(pin_file) << "123456\n";
    std::ofstream(wrong_pin_file) << "000000\n";
    auto rsa = crypto::prepare_pkcs11_key(uri("unit", "rsa"), softhsm, std::nullopt, crypto::KeyType::rsa_2048);
    auto ec = crypto::prepare_pkcs11_key(uri("unit", "ec"), softhsm, crypto::KeyType::ec_p256,
                                         crypto::KeyType::rsa_2048);
    if (!rsa || !rsa->generated || !ec || !ec->generated) throw std::runtime_error("cannot make the test keys");
  }
  crypto::Pkcs11Uri uri(std::string_view token, std::string_view object, bool right_pin = true) const {
    auto u = crypto::Pkcs11Uri::parse(fmt::format("pkcs11:token={};object={}?pin-source=file:{}", token, object,
                                                  right_pin ? pin_file : wrong_pin_file));
    if (!u) throw std::runtime_error(u.error().detail);
    return *u;
  }
};

Token& token() {
  static Token t;
  return t;
}

core::Bytes sign(const crypto::PrivateKey& key, core::ByteView data) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::size_t n = 0;
  BOOST_REQUIRE(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.native()) == 1);
  BOOST_REQUIRE(EVP_DigestSign(ctx.get(), nullptr, &n, data.data(), data.size()) == 1);
  core::Bytes sig(n);
  BOOST_REQUIRE(EVP_DigestSign(ctx.get(), sig.data(), &n, data.data(), data.size()) == 1);
  sig.resize(n);
  return sig;
}

bool verifies(const crypto::PublicKey& key, core::ByteView data, core::ByteView sig) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  return EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.native()) == 1 &&
         EVP_DigestVerify(ctx.get(), sig.data(), sig.size(), data.data(), data.size()) == 1;
}

const core::Bytes message{'s', 'c', 'e', 'p'};

}  // namespace

BOOST_AUTO_TEST_SUITE(pkcs11_uri)

BOOST_AUTO_TEST_CASE(parses_every_supported_attribute) {
  auto u = crypto::Pkcs11Uri::parse(
      "pkcs11:token=my%20token;manufacturer=SoftHSM%20project;model=SoftHSM%20v2;serial=0123;slot-id=7;"
      "object=corp-ca;id=%01%ab;type=private?pin-source=file:/etc/scep/pin&module-path=/usr/lib/m.so");
  BOOST_REQUIRE_MESSAGE(u, (u ? "" : u.error().detail));
  BOOST_TEST(u->token == "my token");
  BOOST_TEST(u->manufacturer == "SoftHSM project");
  BOOST_TEST(u->model == "SoftHSM v2");
  BOOST_TEST(u->serial == "0123");
  BOOST_TEST(u->slot_id.value_or(0) == 7u);
  BOOST_TEST(u->object == "corp-ca");
  BOOST_REQUIRE(u->id);
  BOOST_TEST((*u->id == core::Bytes{0x01, 0xab}));
  BOOST_TEST(u->pin_source == "file:/etc/scep/pin");
  BOOST_TEST(u->module_path == "/usr/lib/m.so");
  // text(): canonical, and parsed again it is the same URI.
  auto again = crypto::Pkcs11Uri::parse(u->text());
  BOOST_REQUIRE(again);
  BOOST_TEST(again->text() == u->text());
  BOOST_TEST(again->token == "my token");
  BOOST_TEST((*again->id == core::Bytes{0x01, 0xab}));
}

BOOST_AUTO_TEST_CASE(text_never_carries_the_pin_value) {
  auto u = crypto::Pkcs11Uri::parse("pkcs11:token=scep;object=k?pin-value=1234");
  BOOST_REQUIRE(u);
  BOOST_TEST(u->pin_value == "1234");
  BOOST_TEST(u->text() == "pkcs11:token=scep;object=k");
}

BOOST_AUTO_TEST_CASE(refuses_bad_uris_with_a_reason) {
  struct Case {
    const char* uri;
    const char* says;
  };
  for (auto c :
       {Case{"token=scep;object=k", "starts with \"pkcs11:\""}, Case{"pkcs11:token=scep;objet=k", "\"objet\""},
        Case{"pkcs11:token=scep;object=k?pin=1", "\"pin\""}, Case{"pkcs11:token=scep;object=k;object=j", "given twice"},
        Case{"pkcs11:token=scep;object=%zz", "%-escape"}, Case{"pkcs11:token=scep;object=%4", "%-escape"},
        Case{"pkcs11:token=scep", "object="}, Case{"pkcs11:object=k;slot-id=x", "slot-id"},
        Case{"pkcs11:object=k;type=cert", "type"}, Case{"pkcs11:object=k;token", "NAME=VALUE"},
        Case{"pkcs11:object=k?module-path=lib.so", "absolute"},
        Case{"pkcs11:object=k?token=scep", "query attribute \"token\""}}) {
    auto u = crypto::Pkcs11Uri::parse(c.uri);
    BOOST_TEST_CONTEXT(c.uri) {
      BOOST_REQUIRE(!u);
      BOOST_TEST((u.error().code == Errc::invalid_argument));
      BOOST_TEST(u.error().detail.find(c.says) != std::string::npos, u.error().detail);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(pkcs11_token)

BOOST_AUTO_TEST_CASE(an_rsa_key_signs_and_decrypts_on_the_token) {
  auto key = crypto::load_pkcs11_key(token().uri("unit", "rsa"), softhsm);
  BOOST_REQUIRE_MESSAGE(key, (key ? "" : key.error().detail));
  BOOST_TEST(key->on_token());
  BOOST_TEST(key->usable());
  BOOST_TEST(key->is_rsa());
  BOOST_TEST(key->bits() == 2048);
  BOOST_TEST(key->location() == token().uri("unit", "rsa").text());
  BOOST_TEST(key->to_pem().empty());  // it never leaves the token
  BOOST_TEST(verifies(key->public_key(), message, sign(*key, message)));

  // Encrypted to the public half, decrypted on the token.
  auto pub = key->public_key();
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> enc(EVP_PKEY_CTX_new(pub.native(), nullptr),
                                                                  EVP_PKEY_CTX_free);
  BOOST_REQUIRE(EVP_PKEY_encrypt_init(enc.get()) == 1);
  BOOST_REQUIRE(EVP_PKEY_CTX_set_rsa_padding(enc.get(), RSA_PKCS1_PADDING) == 1);
  std::size_t n = 0;
  BOOST_REQUIRE(EVP_PKEY_encrypt(enc.get(), nullptr, &n, message.data(), message.size()) == 1);
  core::Bytes ct(n);
  BOOST_REQUIRE(EVP_PKEY_encrypt(enc.get(), ct.data(), &n, message.data(), message.size()) == 1);
  ct.resize(n);
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> dec(EVP_PKEY_CTX_new(key->native(), nullptr),
                                                                  EVP_PKEY_CTX_free);
  BOOST_REQUIRE(EVP_PKEY_decrypt_init(dec.get()) == 1);
  BOOST_REQUIRE(EVP_PKEY_CTX_set_rsa_padding(dec.get(), RSA_PKCS1_PADDING) == 1);
  core::Bytes pt(256);
  n = pt.size();
  BOOST_REQUIRE(EVP_PKEY_decrypt(dec.get(), pt.data(), &n, ct.data(), ct.size()) == 1);
  pt.resize(n);
  BOOST_TEST(pt == message);
}

BOOST_AUTO_TEST_CASE(an_ec_key_signs_on_the_token) {
  auto key = crypto::load_pkcs11_key(token().uri("unit", "ec"), softhsm);
  BOOST_REQUIRE_MESSAGE(key, (key ? "" : key.error().detail));
  BOOST_TEST(!key->is_rsa());
  BOOST_TEST(key->public_key().description() == "EC 256");
  BOOST_TEST(verifies(key->public_key(), message, sign(*key, message)));
  // The public half is a plain key: copies of it outlive the token key.
  std::optional<crypto::PublicKey> pub;
  {
    auto scoped = crypto::load_pkcs11_key(token().uri("unit", "ec"), softhsm);
    BOOST_REQUIRE(scoped);
    pub = scoped->public_key();
  }
  BOOST_TEST(pub->description() == "EC 256");
  BOOST_TEST((*pub == key->public_key()));
}

BOOST_AUTO_TEST_CASE(a_key_is_found_by_id_too) {
  auto by_label = crypto::load_pkcs11_key(token().uri("unit", "rsa"), softhsm);
  BOOST_REQUIRE(by_label);
  // A key made with a known id (and no label), found by that id alone.
  auto with_id = crypto::Pkcs11Uri::parse(
      fmt::format("pkcs11:token=unit;id=%c0%ff%ee?pin-source=file:{}", token().pin_file));
  BOOST_REQUIRE(with_id);
  auto made = crypto::prepare_pkcs11_key(*with_id, softhsm, std::nullopt, crypto::KeyType::rsa_2048);
  BOOST_REQUIRE_MESSAGE(made, (made ? "" : made.error().detail));
  BOOST_TEST(made->generated);  // made while libp11 holds the module: no second initialisation
  auto key = crypto::load_pkcs11_key(*with_id, softhsm);
  BOOST_REQUIRE_MESSAGE(key, (key ? "" : key.error().detail));
  BOOST_TEST(verifies(key->public_key(), message, sign(*key, message)));
  BOOST_TEST(!(key->public_key() == by_label->public_key()));
}

BOOST_AUTO_TEST_CASE(an_existing_key_keeps_its_type) {
  auto same = crypto::prepare_pkcs11_key(token().uri("unit", "ec"), softhsm, std::nullopt, crypto::KeyType::rsa_2048);
  BOOST_REQUIRE(same);
  BOOST_TEST(!same->generated);
  BOOST_TEST((same->type == crypto::KeyType::ec_p256));
  auto clash = crypto::prepare_pkcs11_key(token().uri("unit", "ec"), softhsm, crypto::KeyType::rsa_2048,
                                          crypto::KeyType::rsa_2048);
  BOOST_REQUIRE(!clash);
  BOOST_TEST((clash.error().code == Errc::invalid_argument));
  BOOST_TEST(clash.error().detail.find("already holds") != std::string::npos, clash.error().detail);
}

BOOST_AUTO_TEST_CASE(a_wrong_pin_is_unavailable_and_the_right_one_works_after) {
  auto key = crypto::load_pkcs11_key(token().uri("other", "nothing", false), softhsm);
  BOOST_REQUIRE(!key);
  BOOST_TEST((key.error().code == Errc::unavailable));
  BOOST_TEST(key.error().detail.find("wrong PIN") != std::string::npos, key.error().detail);
  // Logged in now, the object is what is missing.
  key = crypto::load_pkcs11_key(token().uri("other", "nothing"), softhsm);
  BOOST_REQUIRE(!key);
  BOOST_TEST((key.error().code == Errc::unavailable));
  BOOST_TEST(key.error().detail.find("no private key \"nothing\"") != std::string::npos, key.error().detail);
}

BOOST_AUTO_TEST_CASE(missing_token_module_and_pin_are_unavailable_with_a_reason) {
  struct Case {
    crypto::Pkcs11Uri uri;
    std::string module;
    const char* says;
  };
  auto no_pin = crypto::Pkcs11Uri::parse("pkcs11:token=other;object=k");
  BOOST_REQUIRE(no_pin);
  crypto::set_pkcs11_environment_pin(std::nullopt);
  crypto::pkcs11_logout_all();  // "other" needs a PIN again
  auto gone_pin = token().uri("unit", "rsa");
  gone_pin.pin_source = "file:/nonexistent/pin";
  for (const auto& c :
       {Case{token().uri("absent", "rsa"), softhsm, "no PKCS#11 token \"absent\""},
        Case{token().uri("unit", "rsa"), "/nonexistent/module.so", "cannot load the PKCS#11 module"},
        Case{token().uri("unit", "rsa"), "", "[pkcs11]"}, Case{*no_pin, softhsm, "no PIN for token other"},
        Case{gone_pin, softhsm, "cannot read the PIN file /nonexistent/pin"}}) {
    auto key = crypto::load_pkcs11_key(c.uri, c.module);
    BOOST_TEST_CONTEXT(c.says) {
      BOOST_REQUIRE(!key);
      BOOST_TEST((key.error().code == Errc::unavailable));
      BOOST_TEST(key.error().detail.find(c.says) != std::string::npos, key.error().detail);
    }
  }
  // The module of the URI wins over the default.
  auto with_module = token().uri("unit", "rsa");
  with_module.module_path = softhsm;
  BOOST_TEST(crypto::load_pkcs11_key(with_module, "/nonexistent/module.so").has_value());
}

// A wrong PIN is tried once: a server asked again and again (health
// probes, clients retrying) must not count the token's PIN down to locked.
BOOST_AUTO_TEST_CASE(a_refused_pin_is_not_tried_again_until_it_changes) {
  crypto::pkcs11_logout_all();
  for (int i = 0; i < 2; ++i) {
    auto key = crypto::load_pkcs11_key(token().uri("other", "nothing", false), softhsm);
    BOOST_REQUIRE(!key);
    BOOST_TEST((key.error().code == Errc::unavailable));
    BOOST_TEST(key.error().detail.find("wrong PIN") != std::string::npos, key.error().detail);
    bool remembered = key.error().detail.find("not tried again") != std::string::npos;
    BOOST_TEST(remembered == (i == 1), key.error().detail);
  }
  // Another PIN is tried, and logs in.
  auto key = crypto::load_pkcs11_key(token().uri("other", "nothing"), softhsm);
  BOOST_REQUIRE(!key);
  BOOST_TEST(key.error().detail.find("no private key \"nothing\"") != std::string::npos, key.error().detail);
}

BOOST_AUTO_TEST_CASE(the_environment_pin_is_used_when_the_uri_names_none) {
  auto u = crypto::Pkcs11Uri::parse("pkcs11:token=other;object=k");
  BOOST_REQUIRE(u);
  crypto::pkcs11_logout_all();
  crypto::set_pkcs11_environment_pin("000000");
  auto key = crypto::load_pkcs11_key(*u, softhsm);
  BOOST_REQUIRE(!key);
  BOOST_TEST(key.error().detail.find("wrong PIN") != std::string::npos, key.error().detail);
  crypto::set_pkcs11_environment_pin("123456");
  key = crypto::load_pkcs11_key(*u, softhsm);
  BOOST_REQUIRE(!key);  // logged in: only the object is missing
  BOOST_TEST(key.error().detail.find("no private key") != std::string::npos, key.error().detail);
  crypto::set_pkcs11_environment_pin(std::nullopt);
}

// Decision 7: a token reset (here: every token logged out through the
// registry, as C_Logout by another application of the token would) makes
// loaded keys say !usable(); loading again logs in again and signs.
BOOST_AUTO_TEST_CASE(a_lost_login_is_seen_and_loading_again_logs_in_again) {
  auto key = crypto::load_pkcs11_key(token().uri("unit", "rsa"), softhsm);
  BOOST_REQUIRE(key);
  BOOST_TEST(key->usable());
  crypto::pkcs11_logout_all();
  BOOST_TEST(!key->usable());
  auto again = crypto::load_pkcs11_key(token().uri("unit", "rsa"), softhsm);
  BOOST_REQUIRE_MESSAGE(again, (again ? "" : again.error().detail));
  BOOST_TEST(again->usable());
  BOOST_TEST(key->usable());  // the same token's login
  BOOST_TEST(verifies(again->public_key(), message, sign(*again, message)));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(pkcs11_store)

// A CA whose key is on the token (key.uri): the store loads it, the
// server's cache keeps it (logged in) between requests, and after the login
// is lost loads it again instead of handing out a key that cannot sign.
BOOST_AUTO_TEST_CASE(the_cache_keeps_a_token_key_and_reloads_it_after_a_lost_login) {
  testing::TempDir dir;
  auto st = store::Store::open(dir.path() / "store", store::OpenMode::create);
  BOOST_REQUIRE(st);
  std::ofstream(st->config_path(), std::ios::app) << "\n[pkcs11]\nmodule = \"" << softhsm << "\"\n";
  auto key = crypto::load_pkcs11_key(token().uri("unit", "rsa"), softhsm);
  BOOST_REQUIRE(key);
  core::FixedClock clock(std::chrono::sys_days{std::chrono::year{2026} / 12 / 1});
  crypto::SystemRng rng;
  ca::RootSpec spec{"CN=Token CA", crypto::KeyType::rsa_2048, 3650, *key};
  auto root = ca::create_root(spec, clock, rng);
  BOOST_REQUIRE_MESSAGE(root, (root ? "" : root.error().detail));
  BOOST_REQUIRE(st->add_ca("tok", store::NewCa{root->cert, root->key, {}}));
  BOOST_TEST(std::filesystem::exists(st->layout().ca_key_uri("tok")));
  BOOST_TEST(!std::filesystem::exists(st->layout().ca_key("tok")));

  store::StoreCache cache(*st);
  auto first = cache.load_key("tok", scep::KeyRole::ca);
  BOOST_REQUIRE_MESSAGE(first, (first ? "" : first.error().detail));
  BOOST_TEST(root->cert.matches(*first));
  auto loads = cache.loads();
  BOOST_REQUIRE(cache.load_key("tok", scep::KeyRole::ca));
  BOOST_TEST(cache.loads() == loads);  // kept

  crypto::pkcs11_logout_all();
  BOOST_TEST(!first->usable());
  auto again = cache.load_key("tok", scep::KeyRole::ca);
  BOOST_REQUIRE_MESSAGE(again, (again ? "" : again.error().detail));
  BOOST_TEST(cache.loads() == loads + 1);
  BOOST_TEST(again->usable());
  BOOST_TEST(verifies(again->public_key(), message, sign(*again, message)));

  // A stored URI with a PIN in it is refused.
  std::ofstream(st->layout().ca_key_uri("tok")) << "pkcs11:token=unit;object=rsa?pin-value=123456\n";
  auto refused = st->load_key("tok", scep::KeyRole::ca);
  BOOST_REQUIRE(!refused);
  BOOST_TEST(refused.error().detail.find("pin-source=file:PATH") != std::string::npos, refused.error().detail);
}

BOOST_AUTO_TEST_SUITE_END()
