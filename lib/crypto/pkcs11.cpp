#include "crypto/pkcs11.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include <openssl/err.h>
#include <openssl/rand.h>

// libp11.h declares PKCS11_get_rsa_method() and PKCS11_get_ec_key_method(),
// whose types OpenSSL hides under OPENSSL_NO_DEPRECATED. They are not used
// here: declared so the header compiles, nothing deprecated is called.
typedef struct rsa_meth_st RSA_METHOD;
typedef struct ec_key_method_st EC_KEY_METHOD;
#include <libp11.h>
#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>

#include <fmt/format.h>

#include "crypto/digest.hpp"
#include "crypto/ossl_error.hpp"

namespace crypto {

using core::Errc;

// ---------------------------------------------------------------- the URI

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

core::Result<std::string> pct_decode(std::string_view v, std::string_view attr) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '%') {
      out += v[i];
      continue;
    }
    int hi = i + 1 < v.size() ? hex_value(v[i + 1]) : -1;
    int lo = i + 2 < v.size() ? hex_value(v[i + 2]) : -1;
    if (hi < 0 || lo < 0)
      return core::fail(Errc::invalid_argument, fmt::format("PKCS#11 URI: a bad %-escape in {}", attr));
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

/// RFC 7512 pchar/qchar unreserved characters pass; everything else is escaped.
std::string pct_encode(std::string_view v) {
  std::string out;
  for (unsigned char c : v) {
    if (std::isalnum(c) || std::strchr("-._~:[]@!$'()*+,=&/", c) != nullptr) out += static_cast<char>(c);
    else out += fmt::format("%{:02X}", c);
  }
  return out;
}

std::string pct_encode_all(core::ByteView v) {
  std::string out;
  for (auto c : v) out += fmt::format("%{:02x}", c);
  return out;
}

}  // namespace

core::Result<Pkcs11Uri> Pkcs11Uri::parse(std::string_view text) {
  constexpr std::string_view scheme = "pkcs11:";
  if (text.size() < scheme.size() || !std::equal(scheme.begin(), scheme.end(), text.begin(), [](char a, char b) {
        return a == std::tolower(static_cast<unsigned char>(b));
      }))
    return core::fail(Errc::invalid_argument, "a PKCS#11 URI starts with \"pkcs11:\" (RFC 7512)");
  std::string_view rest = text.substr(scheme.size());
  std::string_view path = rest, query;
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    path = rest.substr(0, q);
    query = rest.substr(q + 1);
  }
  Pkcs11Uri uri;
  std::vector<std::string> seen;
  auto each = [&](std::string_view part, char sep, bool is_query) -> core::Result<void> {
    while (!part.empty()) {
      auto end = part.find(sep);
      std::string_view attr = part.substr(0, end);
      part = end == std::string_view::npos ? std::string_view() : part.substr(end + 1);
      if (attr.empty()) continue;
      auto eq = attr.find('=');
      if (eq == std::string_view::npos)
        return core::fail(Errc::invalid_argument, fmt::format("PKCS#11 URI: \"{}\" is not NAME=VALUE", attr));
      std::string name(attr.substr(0, eq));
      if (std::find(seen.begin(), seen.end(), name) != seen.end())
        return core::fail(Errc::invalid_argument, fmt::format("PKCS#11 URI: {} given twice", name));
      seen.push_back(name);
      SCEP_TRY_ASSIGN(auto value, pct_decode(attr.substr(eq + 1), name));
      if (!is_query && name == "token") uri.token = value;
      else if (!is_query && name == "object") uri.object = value;
      else if (!is_query && name == "manufacturer") uri.manufacturer = value;
      else if (!is_query && name == "serial") uri.serial = value;
      else if (!is_query && name == "model") uri.model = value;
      else if (!is_query && name == "id") uri.id = core::Bytes(value.begin(), value.end());
      else if (!is_query && name == "slot-id") {
        unsigned long n = 0;
        if (value.empty() || value.size() > 19 ||
            !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }))
          return core::fail(Errc::invalid_argument, "PKCS#11 URI: slot-id must be a decimal number");
        n = std::stoul(value);
        uri.slot_id = n;
      } else if (!is_query && name == "type") {
        if (value != "private")
          return core::fail(Errc::invalid_argument, "PKCS#11 URI: type must be \"private\" (a private key) if given");
      } else if (is_query && name == "pin-source") uri.pin_source = value;
      else if (is_query && name == "pin-value") uri.pin_value = value;
      else if (is_query && name == "module-path") uri.module_path = value;
      else
        return core::fail(Errc::invalid_argument,
                          fmt::format("PKCS#11 URI: unknown or unsupported {} attribute \"{}\" (path: token, object, "
                                      "id, manufacturer, serial, model, slot-id; query: pin-source, pin-value, "
                                      "module-path)",
                                      is_query ? "query" : "path", name));
    }
    return {};
  };
  SCEP_TRY(each(path, ';', false));
  SCEP_TRY(each(query, '&', true));
  if (uri.object.empty() && !uri.id)
    return core::fail(Errc::invalid_argument, "PKCS#11 URI: name the key with object= (its label) or id=");
  if (!uri.module_path.empty() && uri.module_path.front() != '/')
    return core::fail(Errc::invalid_argument, "PKCS#11 URI: module-path must be an absolute path");
  return uri;
}

std::string Pkcs11Uri::text() const {
  std::vector<std::string> path, query;
  if (!token.empty()) path.push_back("token=" + pct_encode(token));
  if (!manufacturer.empty()) path.push_back("manufacturer=" + pct_encode(manufacturer));
  if (!model.empty()) path.push_back("model=" + pct_encode(model));
  if (!serial.empty()) path.push_back("serial=" + pct_encode(serial));
  if (slot_id) path.push_back(fmt::format("slot-id={}", *slot_id));
  if (!object.empty()) path.push_back("object=" + pct_encode(object));
  if (id) path.push_back("id=" + pct_encode_all(*id));
  if (!pin_source.empty()) query.push_back("pin-source=" + pct_encode(pin_source));
  if (!module_path.empty()) query.push_back("module-path=" + pct_encode(module_path));
  std::string out = "pkcs11:";
  for (std::size_t i = 0; i < path.size(); ++i) out += (i ? ";" : "") + path[i];
  for (std::size_t i = 0; i < query.size(); ++i) out += (i ? "&" : "?") + query[i];
  return out;
}

// ---------------------------------------------------------------- PIN and module

namespace {

std::mutex g_env_mutex;
std::optional<std::string> g_env_pin;

core::Result<std::string> module_of(const Pkcs11Uri& uri, std::string_view default_module) {
  if (!uri.module_path.empty()) return uri.module_path;
  if (!default_module.empty()) return std::string(default_module);
  return core::fail(Errc::unavailable,
                    fmt::format("no PKCS#11 module for {}: give module-path= in the URI or set module in the "
                                "[pkcs11] table of scep.toml",
                                uri.text()));
}

core::Result<std::string> pin_of(const Pkcs11Uri& uri) {
  if (!uri.pin_value.empty()) return uri.pin_value;
  if (!uri.pin_source.empty()) {
    std::string path = uri.pin_source;
    if (path.starts_with("file:")) path = path.substr(5);
    if (path.starts_with("//")) path = path.substr(2);  // file:///path
    if (path.empty() || path.front() != '/')
      return core::fail(Errc::invalid_argument,
                        fmt::format("pin-source must be file:/ABSOLUTE/PATH or /ABSOLUTE/PATH, not \"{}\"", path));
    std::ifstream in(path);
    if (!in)
      return core::fail(Errc::unavailable,
                        fmt::format("cannot read the PIN file {} for {}: {}", path, uri.text(), std::strerror(errno)));
    std::string pin;
    std::getline(in, pin);
    while (!pin.empty() && (pin.back() == '\r' || pin.back() == ' ')) pin.pop_back();
    if (pin.empty()) return core::fail(Errc::unavailable, fmt::format("the PIN file {} is empty", path));
    return pin;
  }
  std::lock_guard lock(g_env_mutex);
  if (g_env_pin && !g_env_pin->empty()) return *g_env_pin;
  return core::fail(Errc::unavailable,
                    fmt::format("no PIN for token {}: name a PIN file with pin-source=file:PATH in the URI or set {}",
                                uri.token.empty() ? uri.text() : uri.token, pkcs11_pin_env));
}

std::string trimmed(const unsigned char* field, std::size_t n) {
  std::string s(reinterpret_cast<const char*>(field), n);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

bool token_matches(const Pkcs11Uri& uri, std::string_view label, std::string_view manufacturer, std::string_view model,
                   std::string_view serial, unsigned long slot_id) {
  return (uri.token.empty() || uri.token == label) && (uri.manufacturer.empty() || uri.manufacturer == manufacturer) &&
         (uri.model.empty() || uri.model == model) && (uri.serial.empty() || uri.serial == serial) &&
         (!uri.slot_id || *uri.slot_id == slot_id);
}

std::string token_name(const Pkcs11Uri& uri) {
  if (!uri.token.empty()) return fmt::format("\"{}\"", uri.token);
  if (!uri.serial.empty()) return fmt::format("with serial {}", uri.serial);
  return "(any)";
}

/// The CKR code libp11 left on OpenSSL's error queue, or 0.
unsigned long last_ckr() {
  unsigned long e = 0, code = 0;
  int lib = ERR_get_CKR_code();
  while ((e = ERR_get_error()) != 0)
    if (ERR_GET_LIB(e) == lib) code = ERR_GET_REASON(e);
  return code;
}

// ---------------------------------------------------------------- the registry

struct Module {
  PKCS11_CTX* ctx = nullptr;
  /// Every slot list enumerated (a token that appears later is found in a
  /// new one); never freed: keys point into them.
  std::vector<std::pair<PKCS11_SLOT*, unsigned int>> slot_lists;
};

/// One token's logged-in slot. Lives as long as the process: keys point into it.
struct Token {
  PKCS11_SLOT* slot = nullptr;
  std::string module;
  /// SHA-256 of a PIN the token refused (wrong or locked) and why: the
  /// same PIN is not tried again, so that a server asked once a second (a
  /// health probe, a fleet retrying) does not lock the token's PIN. A
  /// changed PIN file or SCEP_PKCS11_PIN is tried.
  core::Bytes refused_pin;
  std::string refused_why;
};

class Registry {
 public:
  static Registry& get() {
    // Never destroyed: token keys in static or late-destroyed objects must
    // not outlive their module, and a module is not unloaded at exit.
    static Registry* r = new Registry;
    return *r;
  }
  std::mutex mutex;
  std::map<std::string, std::unique_ptr<Module>> modules;
  /// module path + slot address -> token
  std::map<std::pair<std::string, PKCS11_SLOT*>, std::unique_ptr<Token>> tokens;
};

class TokenHolder final : public KeyHolder {
 public:
  TokenHolder(Token* token, std::string uri) : m_token(token), m_uri(std::move(uri)) {}
  std::string location() const override { return m_uri; }
  bool usable() const override {
    std::lock_guard lock(Registry::get().mutex);
    int in = 0;
    bool ok = PKCS11_is_logged_in(m_token->slot, 0, &in) == 0 && in == 1;
    ERR_clear_error();
    return ok;
  }

 private:
  Token* m_token;
  std::string m_uri;
};

core::Result<Module*> module_locked(Registry& reg, const std::string& path) {
  if (auto it = reg.modules.find(path); it != reg.modules.end()) return it->second.get();
  auto m = std::make_unique<Module>();
  m->ctx = PKCS11_CTX_new();
  if (!m->ctx) return ossl_fail(Errc::internal, "PKCS11_CTX_new failed");
  if (PKCS11_CTX_load(m->ctx, path.c_str()) != 0) {
    PKCS11_CTX_free(m->ctx);
    clear_ossl_errors();
    return core::fail(Errc::unavailable, fmt::format("cannot load the PKCS#11 module {}", path));
  }
  Module* raw = m.get();
  reg.modules.emplace(path, std::move(m));
  return raw;
}

PKCS11_SLOT* find_slot(Module& m, const Pkcs11Uri& uri) {
  for (auto it = m.slot_lists.rbegin(); it != m.slot_lists.rend(); ++it) {
    for (unsigned int i = 0; i < it->second; ++i) {
      PKCS11_SLOT* s = &it->first[i];
      if (!s->token || !s->token->initialized) continue;
      const PKCS11_TOKEN* t = s->token;
      if (token_matches(uri, t->label ? t->label : "", t->manufacturer ? t->manufacturer : "", t->model ? t->model : "",
                        t->serialnr ? t->serialnr : "", PKCS11_get_slotid_from_slot(s)))
        return s;
    }
  }
  return nullptr;
}

core::Result<Token*> token_locked(Registry& reg, const std::string& module_path, const Pkcs11Uri& uri) {
  SCEP_TRY_ASSIGN(auto m, module_locked(reg, module_path));
  PKCS11_SLOT* slot = find_slot(*m, uri);
  if (!slot) {
    // Enumerated again: a token inserted (or initialised) since is found.
    PKCS11_SLOT* slots = nullptr;
    unsigned int n = 0;
    if (PKCS11_enumerate_slots(m->ctx, &slots, &n) != 0) {
      clear_ossl_errors();
      return core::fail(Errc::unavailable, fmt::format("the PKCS#11 module {} lists no slots", module_path));
    }
    m->slot_lists.emplace_back(slots, n);
    slot = find_slot(*m, uri);
  }
  if (!slot)
    return core::fail(Errc::unavailable,
                      fmt::format("no PKCS#11 token {} in the module {}", token_name(uri), module_path));
  auto key = std::pair(module_path, slot);
  auto it = reg.tokens.find(key);
  if (it == reg.tokens.end()) it = reg.tokens.emplace(key, std::make_unique<Token>(Token{slot, module_path})).first;
  Token* token = it->second.get();
  int in = 0;
  if (PKCS11_is_logged_in(slot, 0, &in) != 0) in = 0;
  ERR_clear_error();
  if (in == 1) return token;
  SCEP_TRY_ASSIGN(auto pin, pin_of(uri));
  core::Bytes pin_hash = digest(DigestAlg::sha256, core::to_bytes(pin));
  if (!token->refused_pin.empty() && core::equal_constant_time(token->refused_pin, pin_hash))
    return core::fail(Errc::unavailable, fmt::format("PKCS#11 token {}: {} (not tried again until the PIN changes)",
                                                     token_name(uri), token->refused_why));
  // A login libp11 remembers from before a reset would make login a no-op.
  PKCS11_logout(slot);
  ERR_clear_error();
  if (PKCS11_login(slot, 0, pin.c_str()) != 0) {
    unsigned long ckr = last_ckr();
    std::string why = ckr == CKR_PIN_INCORRECT ? "wrong PIN"
                      : ckr == CKR_PIN_LOCKED  ? "the PIN is locked"
                      : ckr == CKR_PIN_EXPIRED ? "the PIN has expired"
                      : ckr == CKR_TOKEN_NOT_PRESENT || ckr == CKR_DEVICE_REMOVED
                          ? "the token is gone"
                          : fmt::format("login failed ({})", ckr ? p11_kit_strerror(ckr) : "no reason given");
    if (ckr == CKR_PIN_INCORRECT || ckr == CKR_PIN_LOCKED || ckr == CKR_PIN_EXPIRED) {
      token->refused_pin = std::move(pin_hash);
      token->refused_why = why;
    }
    return core::fail(Errc::unavailable, fmt::format("PKCS#11 token {}: {}", token_name(uri), why));
  }
  token->refused_pin.clear();
  return token;
}

bool key_matches(const PKCS11_KEY& k, const Pkcs11Uri& uri) {
  if (!uri.object.empty() && (!k.label || uri.object != k.label)) return false;
  if (uri.id && (k.id_len != uri.id->size() || !std::equal(uri.id->begin(), uri.id->end(), k.id))) return false;
  return true;
}

}  // namespace

void set_pkcs11_environment_pin(std::optional<std::string> pin) {
  std::lock_guard lock(g_env_mutex);
  g_env_pin = std::move(pin);
}

core::Result<PrivateKey> load_pkcs11_key(const Pkcs11Uri& uri, std::string_view default_module) {
  SCEP_TRY_ASSIGN(auto module_path, module_of(uri, default_module));
  Registry& reg = Registry::get();
  std::lock_guard lock(reg.mutex);
  SCEP_TRY_ASSIGN(auto token, token_locked(reg, module_path, uri));
  PKCS11_KEY* keys = nullptr;
  unsigned int n = 0;
  if (PKCS11_enumerate_keys(token->slot->token, &keys, &n) != 0) {
    unsigned long ckr = last_ckr();
    return core::fail(Errc::unavailable, fmt::format("PKCS#11 token {}: cannot list its keys ({})", token_name(uri),
                                                     ckr ? p11_kit_strerror(ckr) : "no reason given"));
  }
  for (unsigned int i = 0; i < n; ++i) {
    if (!keys[i].isPrivate || !key_matches(keys[i], uri)) continue;
    EvpPkeyPtr pkey(PKCS11_get_private_key(&keys[i]));
    if (!pkey) return ossl_fail(Errc::unavailable, fmt::format("{}: the token gives no usable key", uri.text()));
    return PrivateKey(std::move(pkey), std::make_shared<TokenHolder>(token, uri.text()));
  }
  return core::fail(Errc::unavailable,
                    fmt::format("no private key {} on PKCS#11 token {}",
                                uri.object.empty() ? "with that id" : "\"" + uri.object + "\"", token_name(uri)));
}

void pkcs11_logout_all() {
  Registry& reg = Registry::get();
  std::lock_guard lock(reg.mutex);
  for (auto& [key, token] : reg.tokens) PKCS11_logout(token->slot);
  ERR_clear_error();
}

// ---------------------------------------------------------------- generation (raw PKCS#11)

namespace {

// DER of the named curves' OIDs (CKA_EC_PARAMS).
constexpr std::array<unsigned char, 10> p256_oid{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
constexpr std::array<unsigned char, 7> p384_oid{0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};

core::Error ckr_error(std::string_view what, CK_RV rv) {
  Errc code = rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED || rv == CKR_TOKEN_NOT_PRESENT ||
                      rv == CKR_DEVICE_REMOVED || rv == CKR_DEVICE_ERROR || rv == CKR_PIN_EXPIRED
                  ? Errc::unavailable
                  : Errc::internal;
  std::string why = rv == CKR_PIN_INCORRECT ? "wrong PIN" : rv == CKR_PIN_LOCKED ? "the PIN is locked" : "";
  return core::Error{code, fmt::format("{}: {}", what, why.empty() ? p11_kit_strerror(rv) : why)};
}

/// One module, initialised for the life of this object (unless it already was).
class RawModule {
 public:
  static core::Result<std::unique_ptr<RawModule>> open(const std::string& path) {
    CK_FUNCTION_LIST* f = p11_kit_module_load(path.c_str(), P11_KIT_MODULE_UNMANAGED);
    if (!f) return core::fail(Errc::unavailable, fmt::format("cannot load the PKCS#11 module {}", path));
    auto m = std::unique_ptr<RawModule>(new RawModule(f));
    CK_C_INITIALIZE_ARGS args{};
    args.flags = CKF_OS_LOCKING_OK;
    CK_RV rv = f->C_Initialize(&args);
    if (rv == CKR_OK) m->m_initialised = true;
    else if (rv != CKR_CRYPTOKI_ALREADY_INITIALIZED)
      return std::unexpected(ckr_error(fmt::format("cannot initialise the PKCS#11 module {}", path), rv));
    return m;
  }
  ~RawModule() {
    if (m_session) {
      // A login is the application's, not the session's: when libp11 has
      // the module too (it was initialised before), its login stays.
      if (m_initialised) m_f->C_Logout(m_session);
      m_f->C_CloseSession(m_session);
    }
    if (m_initialised) m_f->C_Finalize(nullptr);
    p11_kit_module_release(m_f);
  }
  CK_FUNCTION_LIST* f() { return m_f; }
  CK_SESSION_HANDLE m_session = 0;

 private:
  explicit RawModule(CK_FUNCTION_LIST* f) : m_f(f) {}
  CK_FUNCTION_LIST* m_f;
  bool m_initialised = false;
};

core::Result<std::optional<CK_OBJECT_HANDLE>> find_private_key(CK_FUNCTION_LIST* f, CK_SESSION_HANDLE s,
                                                               const Pkcs11Uri& uri) {
  CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
  std::vector<CK_ATTRIBUTE> tmpl{{CKA_CLASS, &cls, sizeof cls}};
  if (!uri.object.empty())
    tmpl.push_back({CKA_LABEL, const_cast<char*>(uri.object.data()), static_cast<unsigned long>(uri.object.size())});
  if (uri.id) tmpl.push_back({CKA_ID, const_cast<unsigned char*>(uri.id->data()), uri.id->size()});
  CK_RV rv = f->C_FindObjectsInit(s, tmpl.data(), tmpl.size());
  if (rv != CKR_OK) return std::unexpected(ckr_error("cannot search the token", rv));
  CK_OBJECT_HANDLE h = 0;
  CK_ULONG count = 0;
  rv = f->C_FindObjects(s, &h, 1, &count);
  f->C_FindObjectsFinal(s);
  if (rv != CKR_OK) return std::unexpected(ckr_error("cannot search the token", rv));
  if (count == 0) return std::nullopt;
  return h;
}

core::Result<KeyType> type_of(CK_FUNCTION_LIST* f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, const Pkcs11Uri& uri) {
  CK_KEY_TYPE kt = 0;
  CK_ATTRIBUTE a{CKA_KEY_TYPE, &kt, sizeof kt};
  if (CK_RV rv = f->C_GetAttributeValue(s, h, &a, 1); rv != CKR_OK)
    return std::unexpected(ckr_error("cannot read the key's type", rv));
  if (kt == CKK_RSA) {
    CK_ATTRIBUTE m{CKA_MODULUS, nullptr, 0};
    if (CK_RV rv = f->C_GetAttributeValue(s, h, &m, 1); rv != CKR_OK)
      return std::unexpected(ckr_error("cannot read the RSA key's size", rv));
    if (auto t = rsa_key_type(static_cast<int>(m.ulValueLen * 8))) return *t;
    return core::fail(Errc::invalid_argument,
                      fmt::format("{}: an RSA key of {} bits (use 2048, 3072 or 4096)", uri.text(), m.ulValueLen * 8));
  }
  if (kt == CKK_EC) {
    std::array<unsigned char, 64> params{};
    CK_ATTRIBUTE p{CKA_EC_PARAMS, params.data(), params.size()};
    if (CK_RV rv = f->C_GetAttributeValue(s, h, &p, 1); rv != CKR_OK)
      return std::unexpected(ckr_error("cannot read the EC key's curve", rv));
    if (p.ulValueLen == p256_oid.size() && std::equal(p256_oid.begin(), p256_oid.end(), params.begin()))
      return KeyType::ec_p256;
    if (p.ulValueLen == p384_oid.size() && std::equal(p384_oid.begin(), p384_oid.end(), params.begin()))
      return KeyType::ec_p384;
    return core::fail(Errc::invalid_argument,
                      fmt::format("{}: an EC key on a curve other than P-256 or P-384", uri.text()));
  }
  return core::fail(Errc::invalid_argument, fmt::format("{}: not an RSA or EC key", uri.text()));
}

core::Result<void> generate(CK_FUNCTION_LIST* f, CK_SESSION_HANDLE s, const Pkcs11Uri& uri, KeyType type) {
  core::Bytes id;
  if (uri.id) id = *uri.id;
  else {
    id.resize(16);
    if (RAND_bytes(id.data(), static_cast<int>(id.size())) != 1) return ossl_fail(Errc::internal, "RAND_bytes failed");
  }
  CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
  std::string label = uri.object.empty() ? std::string() : uri.object;
  std::vector<CK_ATTRIBUTE> pub{{CKA_TOKEN, &yes, sizeof yes},
                                {CKA_VERIFY, &yes, sizeof yes},
                                {CKA_ID, id.data(), id.size()}};
  std::vector<CK_ATTRIBUTE> priv{{CKA_TOKEN, &yes, sizeof yes},     {CKA_PRIVATE, &yes, sizeof yes},
                                 {CKA_SENSITIVE, &yes, sizeof yes}, {CKA_EXTRACTABLE, &no, sizeof no},
                                 {CKA_SIGN, &yes, sizeof yes},      {CKA_ID, id.data(), id.size()}};
  if (!label.empty()) {
    pub.push_back({CKA_LABEL, label.data(), label.size()});
    priv.push_back({CKA_LABEL, label.data(), label.size()});
  }
  CK_ULONG bits = 0;
  std::array<unsigned char, 3> exponent{0x01, 0x00, 0x01};
  CK_MECHANISM mech{CKM_RSA_PKCS_KEY_PAIR_GEN, nullptr, 0};
  if (is_rsa(type)) {
    bits = type == KeyType::rsa_2048 ? 2048 : type == KeyType::rsa_3072 ? 3072 : 4096;
    pub.push_back({CKA_MODULUS_BITS, &bits, sizeof bits});
    pub.push_back({CKA_PUBLIC_EXPONENT, exponent.data(), exponent.size()});
    pub.push_back({CKA_ENCRYPT, &yes, sizeof yes});
    priv.push_back({CKA_DECRYPT, &yes, sizeof yes});
  } else {
    mech.mechanism = CKM_EC_KEY_PAIR_GEN;
    if (type == KeyType::ec_p256)
      pub.push_back({CKA_EC_PARAMS, const_cast<unsigned char*>(p256_oid.data()), p256_oid.size()});
    else pub.push_back({CKA_EC_PARAMS, const_cast<unsigned char*>(p384_oid.data()), p384_oid.size()});
  }
  CK_OBJECT_HANDLE hpub = 0, hpriv = 0;
  CK_RV rv = f->C_GenerateKeyPair(s, &mech, pub.data(), pub.size(), priv.data(), priv.size(), &hpub, &hpriv);
  if (rv != CKR_OK)
    return std::unexpected(ckr_error(fmt::format("cannot generate a {} key on the token", key_type_name(type)), rv));
  return {};
}

}  // namespace

core::Result<Pkcs11Prepared> prepare_pkcs11_key(const Pkcs11Uri& uri, std::string_view default_module,
                                                std::optional<KeyType> wanted, KeyType fallback) {
  SCEP_TRY_ASSIGN(auto module_path, module_of(uri, default_module));
  SCEP_TRY_ASSIGN(auto m, RawModule::open(module_path));
  CK_FUNCTION_LIST* f = m->f();
  CK_ULONG n = 0;
  if (CK_RV rv = f->C_GetSlotList(CK_TRUE, nullptr, &n); rv != CKR_OK)
    return std::unexpected(ckr_error(fmt::format("the PKCS#11 module {} lists no slots", module_path), rv));
  std::vector<CK_SLOT_ID> slots(n);
  if (CK_RV rv = f->C_GetSlotList(CK_TRUE, slots.data(), &n); rv != CKR_OK)
    return std::unexpected(ckr_error(fmt::format("the PKCS#11 module {} lists no slots", module_path), rv));
  slots.resize(n);
  std::optional<CK_SLOT_ID> slot;
  for (auto id : slots) {
    CK_TOKEN_INFO ti{};
    if (f->C_GetTokenInfo(id, &ti) != CKR_OK || !(ti.flags & CKF_TOKEN_INITIALIZED)) continue;
    if (token_matches(uri, trimmed(ti.label, sizeof ti.label), trimmed(ti.manufacturerID, sizeof ti.manufacturerID),
                      trimmed(ti.model, sizeof ti.model), trimmed(ti.serialNumber, sizeof ti.serialNumber), id)) {
      slot = id;
      break;
    }
  }
  if (!slot)
    return core::fail(Errc::unavailable,
                      fmt::format("no PKCS#11 token {} in the module {}", token_name(uri), module_path));
  SCEP_TRY_ASSIGN(auto pin, pin_of(uri));
  if (CK_RV rv = f->C_OpenSession(*slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &m->m_session);
      rv != CKR_OK)
    return std::unexpected(ckr_error(fmt::format("PKCS#11 token {}: cannot open a session", token_name(uri)), rv));
  if (CK_RV rv = f->C_Login(m->m_session, CKU_USER, reinterpret_cast<unsigned char*>(pin.data()), pin.size());
      rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
    return std::unexpected(ckr_error(fmt::format("PKCS#11 token {}", token_name(uri)), rv));
  SCEP_TRY_ASSIGN(auto existing, find_private_key(f, m->m_session, uri));
  if (existing) {
    SCEP_TRY_ASSIGN(auto type, type_of(f, m->m_session, *existing, uri));
    if (wanted && *wanted != type)
      return core::fail(Errc::invalid_argument,
                        fmt::format("the token already holds {} as an {} key, not {}: leave out --key-type or name "
                                    "another object",
                                    uri.text(), key_type_name(type), key_type_name(*wanted)));
    return Pkcs11Prepared{type, false};
  }
  KeyType type = wanted.value_or(fallback);
  SCEP_TRY(generate(f, m->m_session, uri, type));
  return Pkcs11Prepared{type, true};
}

}  // namespace crypto
