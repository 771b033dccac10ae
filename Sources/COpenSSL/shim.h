/* The one C face of OpenSSL (libcrypto 3.x) for Swift. Only Sources/Protocol/Crypto imports it: the handshake's
 * primitives, X.509 parsing and verification, and the key generation and certificate writing of `ferry ca`.
 * Macros and variadic functions do not import into Swift; the wrappers below stand in for them. */
#ifndef FERRY_COPENSSL_SHIM_H
#define FERRY_COPENSSL_SHIM_H
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/dh.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h> /* PKCS8_set0_pbe: encrypted private keys (EncryptedPrivateKey.swift) */
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

static inline void copenssl_free(void *p) { OPENSSL_free(p); }
static inline long copenssl_bio_get_mem_data(BIO *b, char **pp) { return BIO_get_mem_data(b, pp); }

/* STACK_OF(X509) helpers: the sk_X509_* names are macros. */
static inline STACK_OF(X509) *copenssl_sk_x509_new(void) { return sk_X509_new_null(); }
static inline int copenssl_sk_x509_push(STACK_OF(X509) *sk, X509 *x) { return sk_X509_push(sk, x); }
static inline void copenssl_sk_x509_free(STACK_OF(X509) *sk) { sk_X509_free(sk); }
static inline void copenssl_sk_x509_pop_free(STACK_OF(X509) *sk) { sk_X509_pop_free(sk, X509_free); }
static inline int copenssl_sk_x509_num(const STACK_OF(X509) *sk) { return sk_X509_num(sk); }
static inline X509 *copenssl_sk_x509_value(const STACK_OF(X509) *sk, int i) { return sk_X509_value(sk, i); }

/* GENERAL_NAMES (subjectAltName) helpers: reading a peer's, building one for CertificateBuilder. */
static inline int copenssl_sk_general_name_num(const GENERAL_NAMES *sk) { return sk_GENERAL_NAME_num(sk); }
static inline GENERAL_NAME *copenssl_sk_general_name_value(const GENERAL_NAMES *sk, int i) { return sk_GENERAL_NAME_value(sk, i); }
static inline void copenssl_general_names_free(GENERAL_NAMES *sk) { GENERAL_NAMES_free(sk); }
static inline int copenssl_sk_general_name_push(GENERAL_NAMES *sk, GENERAL_NAME *name) {
    return sk_GENERAL_NAME_push(sk, name);
}

/* STACK_OF(X509_REVOKED) helpers: reading a CRL's entries. */
static inline int copenssl_sk_x509_revoked_num(const STACK_OF(X509_REVOKED) *sk) { return sk_X509_REVOKED_num(sk); }
static inline X509_REVOKED *copenssl_sk_x509_revoked_value(const STACK_OF(X509_REVOKED) *sk, int i) {
    return sk_X509_REVOKED_value(sk, i);
}

/* XN_FLAG_RFC2253 is a composite macro: names printed as RFC 2253 text ("CN=Ferry CA"). */
static inline unsigned long copenssl_xn_flag_rfc2253(void) { return XN_FLAG_RFC2253; }

/* Key agreement (crypto layer): OSSL_PARAM_BLD builds the "pub" BIGNUM parameter of an FFDHE peer key, which
 * OSSL_PARAM_construct_BN could only take in native byte order. */
#include <openssl/param_build.h>
/* EVP_PKEY_fromdata selections: composite macros, which do not import into Swift. */
static inline int copenssl_selection_public_key(void) { return EVP_PKEY_PUBLIC_KEY; }
static inline int copenssl_selection_keypair(void) { return EVP_PKEY_KEYPAIR; }
#endif
