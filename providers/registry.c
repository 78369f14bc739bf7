#include "providers/provider.h"

#include "common/util.h"
#include "providers/software/software-priv.h"
#include "wire/wire.h"

static const struct prov_ops *const registry[] = {
        &prov_software_ops,
};

const struct prov_ops *prov_find(uint8_t id)
{
	for (size_t i = 0; i < TS_ARRAY_LEN(registry); i++)
		if (registry[i]->id == id)
			return registry[i];
	return NULL;
}

int prov_supports(const struct prov_ops *ops, uint32_t opcode)
{
	switch (opcode) {
	case WIRE_OP_PSA_GENERATE_RANDOM:
		return ops->generate_random != NULL;
	case WIRE_OP_PSA_HASH_COMPUTE:
	case WIRE_OP_PSA_HASH_COMPARE:
		return ops->hash_compute != NULL;
	case WIRE_OP_PSA_GENERATE_KEY:
		return ops->generate_key != NULL;
	case WIRE_OP_PSA_IMPORT_KEY:
		return ops->import_key != NULL;
	case WIRE_OP_PSA_DESTROY_KEY:
		return ops->generate_key != NULL || ops->import_key != NULL;
	case WIRE_OP_PSA_EXPORT_KEY:
		return ops->export_key != NULL;
	case WIRE_OP_PSA_EXPORT_PUBLIC_KEY:
		return ops->export_public_key != NULL;
	case WIRE_OP_PSA_SIGN_HASH:
		return ops->sign_hash != NULL;
	case WIRE_OP_PSA_VERIFY_HASH:
		return ops->verify_hash != NULL;
	/* Messages are hashed by the provider, then signed as a hash. */
	case WIRE_OP_PSA_SIGN_MESSAGE:
		return ops->sign_hash != NULL && ops->hash_compute != NULL;
	case WIRE_OP_PSA_VERIFY_MESSAGE:
		return ops->verify_hash != NULL && ops->hash_compute != NULL;
	case WIRE_OP_PSA_AEAD_ENCRYPT:
	case WIRE_OP_PSA_AEAD_DECRYPT:
		return ops->aead != NULL;
	case WIRE_OP_PSA_CIPHER_ENCRYPT:
	case WIRE_OP_PSA_CIPHER_DECRYPT:
		return ops->cipher != NULL;
	case WIRE_OP_PSA_MAC_COMPUTE:
	case WIRE_OP_PSA_MAC_VERIFY:
		return ops->mac != NULL;
	case WIRE_OP_PSA_ASYMMETRIC_ENCRYPT:
	case WIRE_OP_PSA_ASYMMETRIC_DECRYPT:
		return ops->asym_crypt != NULL;
	case WIRE_OP_PSA_RAW_KEY_AGREEMENT:
		return ops->key_agreement != NULL;
	case WIRE_OP_CAN_DO_CRYPTO:
		return ops->can_do != NULL;
	default:
		return 0;
	}
}
