/* tls_api.h: the OpenSSL functions this layer calls, reached through
 * pointers that tls_api.c fills from libssl.so.3 the first time TLS (or a
 * digest) is needed, instead of linking OpenSSL into every program that
 * uses the library. A program that never sends or fetches mail does not
 * load libssl and libcrypto at all: their loading and relocation cost
 * every `mimecodec` run 3.3 ms of start-up here (a C program that only
 * returns: 5.3 ms with them linked, against 8.6; bench/cli_ab.py, 21 runs
 * each), 40% of the time of a small `mimecodec parse`.
 *
 * Include it after the OpenSSL headers: it declares one pointer per
 * function, typed from the header's own declaration, then redefines each
 * name as a call through its pointer, so the code keeps OpenSSL's names
 * (and its macros, which expand to these functions). A function missing
 * from the list fails the link (nothing links OpenSSL), so the list cannot
 * silently fall behind. Call mc__tls_load() before the first call. */
#ifndef MC_TLS_API_H
#define MC_TLS_API_H

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "mimecodec/status.h"

#define MC_TLS_FUNCS(X)                        \
	X(BIO_clear_flags)                     \
	X(BIO_free)                            \
	X(BIO_get_data)                        \
	X(BIO_get_new_index)                   \
	X(BIO_meth_free)                       \
	X(BIO_meth_new)                        \
	X(BIO_meth_set_ctrl)                   \
	X(BIO_meth_set_read_ex)                \
	X(BIO_meth_set_write_ex)               \
	X(BIO_new)                             \
	X(BIO_set_data)                        \
	X(BIO_set_flags)                       \
	X(BIO_set_init)                        \
	X(ERR_clear_error)                     \
	X(ERR_error_string_n)                  \
	X(ERR_peek_last_error)                 \
	X(EVP_DigestFinal_ex)                  \
	X(EVP_DigestInit_ex)                   \
	X(EVP_DigestUpdate)                    \
	X(EVP_MD_CTX_free)                     \
	X(EVP_MD_CTX_new)                      \
	X(EVP_MD_fetch)                        \
	X(EVP_MD_free)                         \
	X(EVP_sha256)                          \
	X(SSL_CIPHER_get_name)                 \
	X(SSL_CTX_ctrl)                        \
	X(SSL_CTX_free)                        \
	X(SSL_CTX_load_verify_locations)       \
	X(SSL_CTX_new)                         \
	X(SSL_CTX_set_default_read_buffer_len) \
	X(SSL_CTX_set_default_verify_paths)    \
	X(SSL_CTX_set_options)                 \
	X(SSL_CTX_set_verify)                  \
	X(SSL_connect)                         \
	X(SSL_ctrl)                            \
	X(SSL_free)                            \
	X(SSL_get0_param)                      \
	X(SSL_get_current_cipher)              \
	X(SSL_get_error)                       \
	X(SSL_get_verify_result)               \
	X(SSL_get_version)                     \
	X(SSL_new)                             \
	X(SSL_read_ex)                         \
	X(SSL_set1_host)                       \
	X(SSL_set_bio)                         \
	X(SSL_set_hostflags)                   \
	X(SSL_shutdown)                        \
	X(SSL_write_ex)                        \
	X(TLS_client_method)                   \
	X(X509_VERIFY_PARAM_set1_ip_asc)       \
	X(X509_verify_cert_error_string)

struct mc__tls_api {
#define MC_TLS_MEMBER(f) __typeof__(f) *p_##f;
	MC_TLS_FUNCS(MC_TLS_MEMBER)
#undef MC_TLS_MEMBER
};

extern struct mc__tls_api mc__tls;

/* Loads OpenSSL once per process (thread-safe). MC_OK, or MC_ENOTLS when
 * libssl.so.3 or one of the functions is missing; mc__tls_error() then
 * says which (the same text on every later call). */
mc_status mc__tls_load(void);
const char *mc__tls_error(void);
/* Whether mc__tls_load has succeeded, without loading. */
int mc__tls_loaded(void);

#define BIO_clear_flags                     (*mc__tls.p_BIO_clear_flags)
#define BIO_free                            (*mc__tls.p_BIO_free)
#define BIO_get_data                        (*mc__tls.p_BIO_get_data)
#define BIO_get_new_index                   (*mc__tls.p_BIO_get_new_index)
#define BIO_meth_free                       (*mc__tls.p_BIO_meth_free)
#define BIO_meth_new                        (*mc__tls.p_BIO_meth_new)
#define BIO_meth_set_ctrl                   (*mc__tls.p_BIO_meth_set_ctrl)
#define BIO_meth_set_read_ex                (*mc__tls.p_BIO_meth_set_read_ex)
#define BIO_meth_set_write_ex               (*mc__tls.p_BIO_meth_set_write_ex)
#define BIO_new                             (*mc__tls.p_BIO_new)
#define BIO_set_data                        (*mc__tls.p_BIO_set_data)
#define BIO_set_flags                       (*mc__tls.p_BIO_set_flags)
#define BIO_set_init                        (*mc__tls.p_BIO_set_init)
#define ERR_clear_error                     (*mc__tls.p_ERR_clear_error)
#define ERR_error_string_n                  (*mc__tls.p_ERR_error_string_n)
#define ERR_peek_last_error                 (*mc__tls.p_ERR_peek_last_error)
#define EVP_DigestFinal_ex                  (*mc__tls.p_EVP_DigestFinal_ex)
#define EVP_DigestInit_ex                   (*mc__tls.p_EVP_DigestInit_ex)
#define EVP_DigestUpdate                    (*mc__tls.p_EVP_DigestUpdate)
#define EVP_MD_CTX_free                     (*mc__tls.p_EVP_MD_CTX_free)
#define EVP_MD_CTX_new                      (*mc__tls.p_EVP_MD_CTX_new)
#define EVP_MD_fetch                        (*mc__tls.p_EVP_MD_fetch)
#define EVP_MD_free                         (*mc__tls.p_EVP_MD_free)
#define EVP_sha256                          (*mc__tls.p_EVP_sha256)
#define SSL_CIPHER_get_name                 (*mc__tls.p_SSL_CIPHER_get_name)
#define SSL_CTX_ctrl                        (*mc__tls.p_SSL_CTX_ctrl)
#define SSL_CTX_free                        (*mc__tls.p_SSL_CTX_free)
#define SSL_CTX_load_verify_locations       (*mc__tls.p_SSL_CTX_load_verify_locations)
#define SSL_CTX_new                         (*mc__tls.p_SSL_CTX_new)
#define SSL_CTX_set_default_read_buffer_len (*mc__tls.p_SSL_CTX_set_default_read_buffer_len)
#define SSL_CTX_set_default_verify_paths    (*mc__tls.p_SSL_CTX_set_default_verify_paths)
#define SSL_CTX_set_options                 (*mc__tls.p_SSL_CTX_set_options)
#define SSL_CTX_set_verify                  (*mc__tls.p_SSL_CTX_set_verify)
#define SSL_connect                         (*mc__tls.p_SSL_connect)
#define SSL_ctrl                            (*mc__tls.p_SSL_ctrl)
#define SSL_free                            (*mc__tls.p_SSL_free)
#define SSL_get0_param                      (*mc__tls.p_SSL_get0_param)
#define SSL_get_current_cipher              (*mc__tls.p_SSL_get_current_cipher)
#define SSL_get_error                       (*mc__tls.p_SSL_get_error)
#define SSL_get_verify_result               (*mc__tls.p_SSL_get_verify_result)
#define SSL_get_version                     (*mc__tls.p_SSL_get_version)
#define SSL_new                             (*mc__tls.p_SSL_new)
#define SSL_read_ex                         (*mc__tls.p_SSL_read_ex)
#define SSL_set1_host                       (*mc__tls.p_SSL_set1_host)
#define SSL_set_bio                         (*mc__tls.p_SSL_set_bio)
#define SSL_set_hostflags                   (*mc__tls.p_SSL_set_hostflags)
#define SSL_shutdown                        (*mc__tls.p_SSL_shutdown)
#define SSL_write_ex                        (*mc__tls.p_SSL_write_ex)
#define TLS_client_method                   (*mc__tls.p_TLS_client_method)
#define X509_VERIFY_PARAM_set1_ip_asc       (*mc__tls.p_X509_VERIFY_PARAM_set1_ip_asc)
#define X509_verify_cert_error_string       (*mc__tls.p_X509_verify_cert_error_string)

#endif
