/*
 * edgemq envelope v1 in C, written against the TweetNaCl C API only
 * (crypto_secretbox, crypto_box, crypto_scalarmult_base, crypto_sign,
 * crypto_sign_open, crypto_hash = SHA-512), as a microcontroller would.
 * It links against TweetNaCl (tweetnacl.c + a randombytes) or against
 * libsodium, which exports the same NaCl functions.
 *
 * test/crypto/c-interop.test.ts feeds it the known-answer vectors
 * (test/crypto/vectors.json) one line at a time and compares:
 *   K <typeByte> <keyHex>                           -> key id hex
 *   S <mode> <key> <sender|-> <esk|-> <sign|-> <nonce> <plain|->   -> envelope hex
 *   O <envelope> <secret> <senderPublic|-> <verifyPublic|->       -> plaintext hex, or "FAIL <reason>"
 * Spec: docs/envelope.md. No dynamic allocation beyond fixed buffers.
 */
#include <stdio.h>
#include <string.h>

#ifdef USE_TWEETNACL
#include "tweetnacl.h"
#define crypto_hash_sha512 crypto_hash
#else
/* The NaCl API as libsodium exports it (declared here so no -dev headers are needed). */
int sodium_init(void);
int crypto_secretbox(unsigned char *c, const unsigned char *m, unsigned long long mlen, const unsigned char *n, const unsigned char *k);
int crypto_secretbox_open(unsigned char *m, const unsigned char *c, unsigned long long clen, const unsigned char *n, const unsigned char *k);
int crypto_box(unsigned char *c, const unsigned char *m, unsigned long long mlen, const unsigned char *n, const unsigned char *pk, const unsigned char *sk);
int crypto_box_open(unsigned char *m, const unsigned char *c, unsigned long long clen, const unsigned char *n, const unsigned char *pk, const unsigned char *sk);
int crypto_scalarmult_base(unsigned char *q, const unsigned char *n);
int crypto_hash_sha512(unsigned char *out, const unsigned char *in, unsigned long long inlen);
int crypto_sign(unsigned char *sm, unsigned long long *smlen, const unsigned char *m, unsigned long long mlen, const unsigned char *sk);
int crypto_sign_open(unsigned char *m, unsigned long long *mlen, const unsigned char *sm, unsigned long long smlen, const unsigned char *pk);
#endif

#define MAX 4096
enum { MODE_SECRETBOX = 1, MODE_BOX = 2, MODE_ANON = 3 };

static int unhex(const char *s, unsigned char *out, size_t max) {
  size_t n = strlen(s), i;
  unsigned int b;
  if (strcmp(s, "-") == 0) return 0;
  if (n % 2 != 0 || n / 2 > max) return -1;
  for (i = 0; i < n / 2; i++) { if (sscanf(s + 2 * i, "%2x", &b) != 1) return -1; out[i] = (unsigned char)b; }
  return (int)(n / 2);
}

static void puthex(const unsigned char *b, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) printf("%02x", b[i]);
  printf("\n");
}

/* id = SHA-512("edgemq-key-id-v1" || type || key)[0..8] */
static void key_id(unsigned char type, const unsigned char *key, unsigned char id[8]) {
  unsigned char in[16 + 1 + 32], h[64];
  memcpy(in, "edgemq-key-id-v1", 16);
  in[16] = type;
  memcpy(in + 17, key, 32);
  crypto_hash_sha512(h, in, sizeof in);
  memcpy(id, h, 8);
}

/* Seal: returns the envelope length. NaCl wants 32 zero bytes before m and
 * leaves 16 zero bytes before the tag; the envelope carries c[16..]. */
static size_t seal(int mode, const unsigned char *key, const unsigned char *sender_sk, const unsigned char *esk,
                   const unsigned char *sign_sk, const unsigned char *nonce, const unsigned char *plain, size_t len,
                   unsigned char *out) {
  static unsigned char m[32 + MAX], c[32 + MAX], sm[64 + 2 * MAX];
  unsigned char pk[32];
  unsigned long long smlen;
  size_t at = 0;
  out[at++] = 'E'; out[at++] = 'M'; out[at++] = 1; out[at++] = (unsigned char)mode; out[at++] = sign_sk ? 1 : 0;
  key_id(mode == MODE_SECRETBOX ? 1 : 2, key, out + at); at += 8;
  if (mode == MODE_BOX) { crypto_scalarmult_base(pk, sender_sk); key_id(2, pk, out + at); at += 8; }
  if (mode == MODE_ANON) { crypto_scalarmult_base(out + at, esk); at += 32; }
  if (sign_sk) { key_id(3, sign_sk + 32, out + at); at += 8; }
  memcpy(out + at, nonce, 24); at += 24;
  memset(m, 0, 32);
  memcpy(m + 32, plain, len);
  if (mode == MODE_SECRETBOX) crypto_secretbox(c, m, 32 + len, nonce, key);
  else crypto_box(c, m, 32 + len, nonce, key, mode == MODE_BOX ? sender_sk : esk);
  memcpy(out + at, c + 16, 16 + len); at += 16 + len;
  if (sign_sk) { /* TweetNaCl signs attached: sm = signature(64) || message */
    crypto_sign(sm, &smlen, out, at, sign_sk);
    memcpy(out + at, sm, 64); at += 64;
  }
  return at;
}

/* x < 2^255 - 19, little-endian: honest X25519 public keys always are. */
static int canonical_x25519(const unsigned char *x) {
  int i;
  if (x[31] & 0x80) return 0;
  if (x[31] != 0x7f) return 1;
  for (i = 30; i > 0; i--) if (x[i] != 0xff) return 1;
  return x[0] < 0xed;
}

static const char *open_envelope(const unsigned char *env, size_t n, const unsigned char *secret,
                                 const unsigned char *sender_pk, const unsigned char *verify_pk,
                                 unsigned char *plain, size_t *plain_len) {
  static unsigned char c[32 + MAX], m[32 + MAX], sm[64 + MAX], tmp[64 + MAX];
  unsigned char id[8], pk[32];
  unsigned long long mlen;
  size_t at = 13, head, ctlen;
  int mode, is_signed;
  const unsigned char *epk = 0, *nonce;
  if (n > MAX) return "too-large";
  if (n < 5 || env[0] != 'E' || env[1] != 'M') return "not-envelope";
  if (env[2] != 1) return "unknown-version";
  mode = env[3];
  if (mode < 1 || mode > 3) return "unknown-mode";
  if (env[4] & 0xfe) return "bad-flags";
  is_signed = env[4] & 1;
  head = 13 + (mode == MODE_BOX ? 8 : 0) + (mode == MODE_ANON ? 32 : 0) + (is_signed ? 8 : 0);
  if (n < head + 24 + 16 + (is_signed ? 64 : 0)) return "truncated";
  if (is_signed) { /* verify before decrypting; sm = signature || signed part */
    if (!verify_pk) return "unknown-signer";
    key_id(3, verify_pk, id);
    if (memcmp(id, env + head - 8, 8) != 0) return "unknown-signer";
    memcpy(sm, env + n - 64, 64);
    memcpy(sm + 64, env, n - 64);
    if (crypto_sign_open(tmp, &mlen, sm, n, verify_pk) != 0) return "bad-signature";
    n -= 64;
  } else if (verify_pk) return "signature-required";
  if (mode == MODE_SECRETBOX) key_id(1, secret, id);
  else { crypto_scalarmult_base(pk, secret); key_id(2, pk, id); }
  if (memcmp(id, env + 5, 8) != 0) return "unknown-key";
  if (mode == MODE_BOX) {
    if (!sender_pk) return "unknown-sender";
    key_id(2, sender_pk, id);
    if (memcmp(id, env + 13, 8) != 0) return "unknown-sender";
    at = 21;
  }
  if (mode == MODE_ANON) { epk = env + 13; if (!canonical_x25519(epk)) return "bad-ephemeral-key"; at = 45; }
  if (is_signed) at += 8;
  nonce = env + at; at += 24;
  ctlen = n - at;
  memset(c, 0, 16);
  memcpy(c + 16, env + at, ctlen);
  if (mode == MODE_SECRETBOX) { if (crypto_secretbox_open(m, c, 16 + ctlen, nonce, secret) != 0) return "decrypt-failed"; }
  else if (crypto_box_open(m, c, 16 + ctlen, nonce, mode == MODE_BOX ? sender_pk : epk, secret) != 0) return "decrypt-failed";
  *plain_len = ctlen - 16;
  memcpy(plain, m + 32, *plain_len);
  return 0;
}

int main(void) {
  static char line[6 * MAX + 256], f[9][2 * MAX + 2];
  static unsigned char a[MAX], b[64], e[32], s[64], nonce[24], plain[MAX], out[2 * MAX];
  int fields, la, lb, le, ls;
  size_t plain_len;
#ifndef USE_TWEETNACL
  if (sodium_init() < 0) return 2;
#endif
  while (fgets(line, sizeof line, stdin)) {
    fields = sscanf(line, "%8191s %8191s %8191s %8191s %8191s %8191s %8191s %8191s %8191s", f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8]);
    if (fields >= 3 && f[0][0] == 'K') {
      unhex(f[2], a, 32);
      key_id((unsigned char)(f[1][0] - '0'), a, b);
      puthex(b, 8);
    } else if (fields == 8 && f[0][0] == 'S') {
      la = unhex(f[2], a, 32); lb = unhex(f[3], b, 32); le = unhex(f[4], e, 32); ls = unhex(f[5], s, 64);
      unhex(f[6], nonce, 24);
      plain_len = (size_t)unhex(f[7], plain, MAX);
      if (la != 32) { printf("ERR key\n"); continue; }
      puthex(out, seal(f[1][0] - '0', a, lb > 0 ? b : 0, le > 0 ? e : 0, ls > 0 ? s : 0, nonce, plain, plain_len, out));
    } else if (fields == 5 && f[0][0] == 'O') {
      const char *why;
      int n = unhex(f[1], out, sizeof out);
      la = unhex(f[2], a, 32); lb = unhex(f[3], b, 32); le = unhex(f[4], e, 32);
      why = n < 0 ? "not-envelope" : open_envelope(out, (size_t)n, a, lb > 0 ? b : 0, le > 0 ? e : 0, plain, &plain_len);
      if (why) printf("FAIL %s\n", why); else puthex(plain, plain_len);
    } else {
      printf("ERR line\n");
    }
    fflush(stdout);
  }
  return 0;
}
