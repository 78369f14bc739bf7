/* Parsec's bincode, read within bounds (migrate/bincode.h). */
#include "migrate/bincode.h"

uint64_t mig_bc_n(struct mig_bc *r, int n)
{
	uint64_t v = 0;

	if (r->bad || r->len - r->off < (size_t)n) {
		r->bad = true;
		return 0;
	}
	for (int i = n - 1; i >= 0; i--)
		v = (v << 8) | r->p[r->off + (size_t)i];
	r->off += (size_t)n;
	return v;
}

const uint8_t *mig_bc_bytes(struct mig_bc *r, size_t *ret_len)
{
	uint64_t n = mig_bc_n(r, 8);
	const uint8_t *p;

	if (r->bad || n > r->len - r->off) {
		r->bad = true;
		*ret_len = 0;
		return NULL;
	}
	p = r->p + r->off;
	r->off += (size_t)n;
	*ret_len = (size_t)n;
	return p;
}

unsigned mig_bc_hash(uint64_t variant)
{
	/* Md2, Md4, Md5, Ripemd160, Sha1, Sha224, Sha256, Sha384, Sha512,
	 * Sha512_224, Sha512_256, Sha3_224, Sha3_256, Sha3_384, Sha3_512. */
	static const uint8_t h[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x08, 0x09, 0x0a,
	                            0x0b, 0x0c, 0x0d, 0x10, 0x11, 0x12, 0x13};

	return variant < sizeof(h) ? h[variant] : 0;
}

unsigned mig_bc_sign_hash(struct mig_bc *r)
{
	uint64_t v = mig_bc_n(r, 4);

	if (v == 1)
		return 0xff;
	return v == 0 ? mig_bc_hash(mig_bc_n(r, 4)) : 0;
}
