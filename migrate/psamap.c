/*
 * PSA numeric attributes -> packed protobuf KeyAttributes. A small writer
 * builds the message bottom-up: each sub-message is encoded into its own
 * buffer and then appended as a length-delimited field. The numeric values
 * are PSA Crypto API 1.x's (include/psa/crypto_values.h in Mbed TLS), the
 * field numbers those of wire/proto/psa_key_attributes.proto and
 * psa_algorithm.proto.
 */
#include "migrate/psamap.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pbuf {
	uint8_t *p;
	size_t len, cap;
	bool oom;
};

static void pb_put(struct pbuf *b, const void *data, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		uint8_t *p;

		while (cap < b->len + n)
			cap *= 2;
		p = realloc(b->p, cap);
		if (p == NULL) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->len, data, n);
	b->len += n;
}

static void pb_varint(struct pbuf *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;

	do {
		tmp[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v != 0)
			tmp[n] |= 0x80;
		n++;
	} while (v != 0);
	pb_put(b, tmp, n);
}

/* A varint field (proto3: a zero value is left out). */
static void pb_uint(struct pbuf *b, unsigned field, uint64_t v)
{
	if (v == 0)
		return;
	pb_varint(b, (uint64_t)field << 3);
	pb_varint(b, v);
}

/* A length-delimited field holding sub (which is then freed); sub may be
 * empty, giving an empty message (a oneof member with no fields). */
static void pb_msg(struct pbuf *b, unsigned field, struct pbuf *sub)
{
	if (sub->oom)
		b->oom = true;
	pb_varint(b, ((uint64_t)field << 3) | 2);
	pb_varint(b, sub->len);
	pb_put(b, sub->p, sub->len);
	free(sub->p);
	memset(sub, 0, sizeof(*sub));
}

/* An empty message as field `field`. */
static void pb_empty(struct pbuf *b, unsigned field)
{
	struct pbuf e = {0};

	pb_msg(b, field, &e);
}

/* One sub-message holding a single varint field: {inner: v}. */
static void pb_msg_uint(struct pbuf *b, unsigned field, unsigned inner, uint64_t v)
{
	struct pbuf s = {0};

	pb_uint(&s, inner, v);
	pb_msg(b, field, &s);
}

/* PSA hash (low byte of a hash algorithm) -> the protobuf Hash enum, 0 when
 * it has none. */
static unsigned hash_pb(uint32_t h)
{
	switch (h & 0xff) {
	case 0x01:
		return 1; /* MD2 */
	case 0x02:
		return 2; /* MD4 */
	case 0x03:
		return 3; /* MD5 */
	case 0x04:
		return 4; /* RIPEMD160 */
	case 0x05:
		return 5; /* SHA_1 */
	case 0x08:
		return 6; /* SHA_224 */
	case 0x09:
		return 7; /* SHA_256 */
	case 0x0a:
		return 8; /* SHA_384 */
	case 0x0b:
		return 9; /* SHA_512 */
	case 0x0c:
		return 10; /* SHA_512_224 */
	case 0x0d:
		return 11; /* SHA_512_256 */
	case 0x10:
		return 12; /* SHA3_224 */
	case 0x11:
		return 13; /* SHA3_256 */
	case 0x12:
		return 14; /* SHA3_384 */
	case 0x13:
		return 15; /* SHA3_512 */
	}
	return 0;
}

static unsigned ecc_family_pb(unsigned f)
{
	switch (f) {
	case 0x17:
		return 1; /* SECP_K1 */
	case 0x12:
		return 2; /* SECP_R1 */
	case 0x1b:
		return 3; /* SECP_R2 */
	case 0x27:
		return 4; /* SECT_K1 */
	case 0x22:
		return 5; /* SECT_R1 */
	case 0x2b:
		return 6; /* SECT_R2 */
	case 0x30:
		return 7; /* BRAINPOOL_P_R1 */
	case 0x33:
		return 8; /* FRP */
	case 0x41:
		return 9; /* MONTGOMERY */
	}
	return 0;
}

static const char *ecc_family_name(unsigned f)
{
	static const char *const names[] = {NULL,      "SECP_K1",   "SECP_R1", "SECP_R2",
	                                    "SECT_K1", "SECT_R1",   "SECT_R2", "BRAINPOOL_P_R1",
	                                    "FRP",     "MONTGOMERY"};
	unsigned v = ecc_family_pb(f);

	return v != 0 ? names[v] : "unknown family";
}

/* KeyType: 0, or -1 with why. */
static int key_type(struct pbuf *b, uint16_t t, char *why, size_t whylen)
{
	struct pbuf s = {0};
	unsigned fam = t & 0xff;

	switch (t) {
	case 0x1001:
		pb_empty(&s, 1); /* raw_data */
		break;
	case 0x1100:
		pb_empty(&s, 2); /* hmac */
		break;
	case 0x1200:
		pb_empty(&s, 3); /* derive */
		break;
	case 0x2400:
		pb_empty(&s, 4); /* aes */
		break;
	case 0x2301:
		pb_empty(&s, 5); /* des */
		break;
	case 0x2403:
		pb_empty(&s, 6); /* camellia */
		break;
	case 0x2002:
		pb_empty(&s, 7); /* arc4 (PSA 1.0 beta value) */
		break;
	case 0x2004:
		pb_empty(&s, 8); /* chacha20 */
		break;
	case 0x4001:
		pb_empty(&s, 9); /* rsa_public_key */
		break;
	case 0x7001:
		pb_empty(&s, 10); /* rsa_key_pair */
		break;
	default:
		if ((t & 0xff00) == 0x7100 || (t & 0xff00) == 0x4100) {
			if (ecc_family_pb(fam) == 0) {
				snprintf(why, whylen, "ECC family 0x%02x has no Parsec form", fam);
				return -1;
			}
			pb_msg_uint(&s, (t & 0xff00) == 0x7100 ? 11 : 12, 1, ecc_family_pb(fam));
			break;
		}
		if ((t & 0xff00) == 0x7200 || (t & 0xff00) == 0x4200) {
			if (fam != 0x03) {
				snprintf(why, whylen, "DH family 0x%02x has no Parsec form", fam);
				return -1;
			}
			/* RFC7919 is enum value 0: an empty family. */
			pb_empty(&s, (t & 0xff00) == 0x7200 ? 13 : 14);
			break;
		}
		snprintf(why, whylen, "key type 0x%04x has no Parsec form", t);
		return -1;
	}
	pb_msg(b, 1, &s);
	return 0;
}

/* SignHash {any | specific}. */
static int sign_hash(struct pbuf *b, unsigned field, uint32_t alg, char *why, size_t whylen)
{
	struct pbuf sh = {0}, s = {0};

	if ((alg & 0xff) == 0xff) {
		pb_empty(&sh, 1);
	} else if (hash_pb(alg) != 0) {
		pb_uint(&sh, 2, hash_pb(alg));
	} else {
		snprintf(why, whylen, "signature algorithm 0x%08x: unknown hash", alg);
		return -1;
	}
	pb_msg(&s, 1, &sh);
	pb_msg(b, field, &s);
	return 0;
}

/* KeyDerivation {hkdf | tls12_prf | tls12_psk_to_ms}. */
static int kdf(struct pbuf *b, uint32_t alg, char *why, size_t whylen)
{
	unsigned h = hash_pb(alg);

	if (h == 0) {
		snprintf(why, whylen, "key derivation 0x%08x: unknown hash", alg);
		return -1;
	}
	switch (alg & ~0xffu) {
	case 0x08000100:
		pb_msg_uint(b, 1, 1, h);
		return 0;
	case 0x08000200:
		pb_msg_uint(b, 2, 1, h);
		return 0;
	case 0x08000300:
		pb_msg_uint(b, 3, 1, h);
		return 0;
	}
	snprintf(why, whylen, "key derivation 0x%08x has no Parsec form", alg);
	return -1;
}

/* FullLength MAC {hmac{hash} | cbc_mac | cmac}. */
static int mac_full(struct pbuf *b, uint32_t base, char *why, size_t whylen)
{
	if ((base & ~0xffu) == 0x03800000 && hash_pb(base) != 0) {
		pb_msg_uint(b, 1, 1, hash_pb(base));
		return 0;
	}
	if (base == 0x03c00100) {
		pb_empty(b, 2);
		return 0;
	}
	if (base == 0x03c00200) {
		pb_empty(b, 3);
		return 0;
	}
	snprintf(why, whylen, "MAC algorithm 0x%08x has no Parsec form", base);
	return -1;
}

static unsigned cipher_pb(uint32_t alg)
{
	switch (alg) {
	case 0x04800100:
		return 1; /* STREAM_CIPHER */
	case 0x04c01000:
		return 2; /* CTR */
	case 0x04c01100:
		return 3; /* CFB */
	case 0x04c01200:
		return 4; /* OFB */
	case 0x0440ff00:
		return 5; /* XTS */
	case 0x04404400:
		return 6; /* ECB_NO_PADDING */
	case 0x04404000:
		return 7; /* CBC_NO_PADDING */
	case 0x04404100:
		return 8; /* CBC_PKCS7 */
	}
	return 0;
}

/* Algorithm: 0, or -1 with why. */
static int algorithm(struct pbuf *b, uint32_t alg, char *why, size_t whylen)
{
	struct pbuf s = {0}, sub = {0};
	int rc = 0;

	if (alg & 0x80000000u) {
		snprintf(why, whylen, "vendor algorithm 0x%08x has no Parsec form", alg);
		return -1;
	}
	switch (alg & 0x7f000000) {
	case 0:
		if (alg != 0)
			goto unknown;
		pb_empty(&s, 1); /* none */
		break;
	case 0x02000000:
		if (hash_pb(alg) == 0 || (alg & 0x00ffff00) != 0)
			goto unknown;
		pb_uint(&s, 2, hash_pb(alg));
		break;
	case 0x03000000: {
		uint32_t len = (alg >> 16) & 0x3f, base = alg & ~0x003f8000u;

		if (alg & 0x00008000) {
			snprintf(why, whylen,
			         "MAC algorithm 0x%08x (at-least-this-length) has no Parsec form",
			         alg);
			return -1;
		}
		if (len == 0) {
			struct pbuf full = {0};

			rc = mac_full(&full, base, why, whylen);
			pb_msg(&sub, 1, &full);
		} else {
			struct pbuf full = {0}, tr = {0};

			rc = mac_full(&full, base, why, whylen);
			pb_msg(&tr, 1, &full);
			pb_uint(&tr, 2, len);
			pb_msg(&sub, 2, &tr);
		}
		pb_msg(&s, 3, &sub);
		break;
	}
	case 0x04000000:
		if (cipher_pb(alg) == 0)
			goto unknown;
		pb_uint(&s, 4, cipher_pb(alg));
		break;
	case 0x05000000: {
		uint32_t len = (alg >> 16) & 0x3f, base = (alg & ~0x003f8000u) | 0x00100000u;
		unsigned kind = base == 0x05500100   ? 1
		                : base == 0x05500200 ? 2
		                : base == 0x05100500 ? 3
		                                     : 0;

		if (kind == 0 || (alg & 0x00008000))
			goto unknown;
		if (len == 16) {
			pb_uint(&sub, 1, kind);
		} else {
			struct pbuf st = {0};

			pb_uint(&st, 1, kind);
			pb_uint(&st, 2, len);
			pb_msg(&sub, 2, &st);
		}
		pb_msg(&s, 5, &sub);
		break;
	}
	case 0x06000000:
		switch (alg & ~0xffu) {
		case 0x06000200:
			if ((alg & 0xff) == 0)
				pb_empty(&sub, 2); /* rsa_pkcs1v15_sign_raw */
			else
				rc = sign_hash(&sub, 1, alg, why, whylen);
			break;
		case 0x06000300:
			rc = sign_hash(&sub, 3, alg, why, whylen);
			break;
		case 0x06000600:
			if ((alg & 0xff) == 0)
				pb_empty(&sub, 5); /* ecdsa_any */
			else
				rc = sign_hash(&sub, 4, alg, why, whylen);
			break;
		case 0x06000700:
			rc = sign_hash(&sub, 6, alg, why, whylen);
			break;
		default:
			goto unknown;
		}
		pb_msg(&s, 6, &sub);
		break;
	case 0x07000000:
		if (alg == 0x07000200) {
			pb_empty(&sub, 1);
		} else if ((alg & ~0xffu) == 0x07000300 && hash_pb(alg) != 0) {
			pb_msg_uint(&sub, 2, 1, hash_pb(alg));
		} else {
			goto unknown;
		}
		pb_msg(&s, 7, &sub);
		break;
	case 0x08000000:
		rc = kdf(&sub, alg, why, whylen);
		pb_msg(&s, 9, &sub);
		break;
	case 0x09000000: {
		uint32_t ka = alg & 0xffff0000u;
		unsigned raw = ka == 0x09010000 ? 1 : ka == 0x09020000 ? 2 : 0;

		if (raw == 0)
			goto unknown;
		if ((alg & 0xffff) == 0) {
			pb_uint(&sub, 1, raw);
		} else {
			struct pbuf wk = {0}, k = {0};

			pb_uint(&wk, 1, raw);
			rc = kdf(&k, (alg & 0xffff) | 0x08000000u, why, whylen);
			pb_msg(&wk, 2, &k);
			pb_msg(&sub, 2, &wk);
		}
		pb_msg(&s, 8, &sub);
		break;
	}
	default:
		goto unknown;
	}
	pb_msg(b, 2, &s);
	return rc;
unknown:
	free(s.p);
	free(sub.p);
	snprintf(why, whylen, "algorithm 0x%08x has no Parsec form", alg);
	return -1;
}

int mig_psa_to_pb(const struct mig_psa_attrs *a, uint32_t bits, uint8_t **ret, size_t *ret_len,
                  char *why, size_t whylen)
{
	/* PSA usage bit -> UsageFlags field number. */
	static const struct {
		uint32_t bit;
		unsigned field;
	} usage[] = {{0x0001, 1}, {0x0002, 2}, {0x0004, 3}, {0x0100, 4}, {0x0200, 5},
	             {0x0400, 6}, {0x0800, 7}, {0x1000, 8}, {0x2000, 9}, {0x4000, 10}};
	struct pbuf out = {0}, pol = {0}, uf = {0};

	if (key_type(&out, a->type, why, whylen) < 0)
		goto fail;
	pb_uint(&out, 2, bits);
	for (size_t i = 0; i < sizeof(usage) / sizeof(usage[0]); i++)
		if (a->usage & usage[i].bit)
			pb_uint(&uf, usage[i].field, 1);
	pb_msg(&pol, 1, &uf);
	if (algorithm(&pol, a->alg, why, whylen) < 0)
		goto fail;
	pb_msg(&out, 3, &pol);
	if (out.oom) {
		snprintf(why, whylen, "out of memory");
		goto fail;
	}
	*ret = out.p;
	*ret_len = out.len;
	return 0;
fail:
	free(out.p);
	free(pol.p);
	free(uf.p);
	return -1;
}

const char *mig_psa_type_name(uint16_t type, char *buf, size_t len)
{
	switch (type) {
	case 0x1001:
		return "raw data";
	case 0x1100:
		return "HMAC";
	case 0x1200:
		return "derive";
	case 0x2400:
		return "AES";
	case 0x2301:
		return "DES";
	case 0x2403:
		return "Camellia";
	case 0x2004:
		return "ChaCha20";
	case 0x4001:
		return "RSA public key";
	case 0x7001:
		return "RSA key pair";
	}
	if ((type & 0xff00) == 0x7100 || (type & 0xff00) == 0x4100)
		snprintf(buf, len, "ECC %s %s",
		         (type & 0xff00) == 0x7100 ? "key pair" : "public key",
		         ecc_family_name(type & 0xff));
	else if ((type & 0xff00) == 0x7200 || (type & 0xff00) == 0x4200)
		snprintf(buf, len, "DH %s", (type & 0xff00) == 0x7200 ? "key pair" : "public key");
	else
		snprintf(buf, len, "type 0x%04x", type);
	return buf;
}
