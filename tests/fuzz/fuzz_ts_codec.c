/* libFuzzer target: the Trusted Services codec's readers on what an
 * endpoint may answer (the partition, its driver or a library between are
 * all outside the daemon), and its writer sized from the same bytes. */
#include <stdint.h>
#include <string.h>

#include "providers/trusted_services/ts-codec.h"
#include "providers/trusted_services/ts-psa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[TSC_TLV_MAX + 64];
	struct tsc_attrs t;
	struct psa_attrs a;
	struct psa_alg alg;
	const uint8_t *v;
	size_t n;
	uint32_t id;

	(void)tsc_resp_id(data, size, &id);
	if (tsc_resp_attrs(data, size, &t) == TS_OK) {
		(void)tsp_attrs_back(&t, &a);
		(void)tsp_alg_back(t.alg, &alg);
	}
	(void)tsc_resp_data(data, size, &v, &n);
	for (uint16_t tag = 0; tag < 4; tag++) {
		(void)tsc_resp_optional(data, size, tag, &v, &n);
		for (size_t off = 0; off < 12 && off <= size; off += 4)
			if (tsc_find_tlv(data, size, off, tag, &v, &n) == TSC_FOUND &&
			    (v < data || v + n > data + size))
				__builtin_trap(); /* a value outside the input */
	}
	/* The writer: the input as a value, capacity and tag from its first bytes. */
	if (size >= 3) {
		struct tsc_writer w;
		size_t cap = ((size_t)data[0] << 8 | data[1]) % sizeof(out);

		tsc_w_init(&w, out, cap);
		tsc_w_u32(&w, (uint32_t)size);
		tsc_w_tlv(&w, data[2], data + 3, size - 3);
		tsc_w_tlv(&w, (uint16_t)(data[2] + 1), data, size);
		if (tsc_w_finish(&w, &n) == TS_OK && n > cap)
			__builtin_trap();
	}
	return 0;
}
