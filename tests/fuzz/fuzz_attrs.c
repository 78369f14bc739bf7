/* libFuzzer target: packed key attributes (as stored and as sent), and the
 * policy module's every rule family with them as the key and as the
 * request's algorithm. */
#include <stdint.h>

#include "daemon/daemon-priv.h"
#include "wire/psa.h"

static const uint32_t opcodes[] = {
        WIRE_OP_PSA_GENERATE_KEY,       WIRE_OP_PSA_SIGN_HASH,         WIRE_OP_PSA_VERIFY_MESSAGE,
        WIRE_OP_PSA_AEAD_DECRYPT,       WIRE_OP_PSA_CIPHER_ENCRYPT,    WIRE_OP_PSA_MAC_VERIFY,
        WIRE_OP_PSA_ASYMMETRIC_DECRYPT, WIRE_OP_PSA_RAW_KEY_AGREEMENT, WIRE_OP_PSA_EXPORT_KEY,
        WIRE_OP_CAN_DO_CRYPTO,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct psa_attrs a;
	struct op_args args = {0};

	if (psa_attrs_unpack(data, size, &a) != TS_OK)
		return 0;
	args.has_alg = true;
	args.alg = a.alg;
	args.has_attrs = true;
	args.attrs = a;
	args.input_len = size % 80;
	for (size_t i = 0; i < sizeof(opcodes) / sizeof(opcodes[0]); i++)
		(void)policy_check(op_find(opcodes[i]), &args, &a, (size & 1) != 0);
	return 0;
}
