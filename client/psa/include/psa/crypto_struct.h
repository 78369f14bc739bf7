/*
 * The layouts of the PSA Crypto API's attribute and operation objects in
 * libtessera-psa, their initializers, and the simple attribute accessors,
 * which the specification allows to be inline functions or macros. Programs
 * must treat every field as private: only the functions and macros of
 * psa/crypto.h are the interface.
 */
#ifndef PSA_CRYPTO_STRUCT_H
#define PSA_CRYPTO_STRUCT_H

#include "psa/crypto_types.h"
#include "psa/crypto_values.h"

#ifdef __cplusplus
extern "C" {
#endif

struct psa_key_attributes_s {
	psa_key_type_t type;
	size_t bits;
	psa_key_lifetime_t lifetime;
	psa_key_id_t id;
	psa_key_usage_t usage;
	psa_algorithm_t alg;
	psa_algorithm_t alg2;
};

/*
 * What every multipart operation object holds: the daemon keeps the state
 * and the object names it by a handle that is valid only on the connection
 * generation it was created on. Handle 0 means inactive.
 */
struct tessera_psa_op_s {
	uint32_t handle;     /* the daemon's handle, 0 when inactive */
	uint8_t state;       /* the library's state machine value, 0 = inactive */
	uint8_t provider;    /* the wire provider ID the operation lives on */
	uint16_t flags;      /* the library's */
	uint32_t generation; /* the connection generation it was made on */
	psa_algorithm_t alg;
	uint64_t ad_remaining, text_remaining; /* AEAD lengths, once set */
	size_t capacity_hint;
};

/*
 * Each object begins with a scalar, so that the specification's "= {0}"
 * (also inside an array's initializer) is complete without -Wmissing-braces
 * warnings; the library never uses it.
 */
struct psa_hash_operation_s {
	uint32_t reserved_;
	struct tessera_psa_op_s op;
};
struct psa_mac_operation_s {
	uint32_t reserved_;
	struct tessera_psa_op_s op;
};
struct psa_cipher_operation_s {
	uint32_t reserved_;
	struct tessera_psa_op_s op;
};
struct psa_aead_operation_s {
	uint32_t reserved_;
	struct tessera_psa_op_s op;
};
struct psa_key_derivation_s {
	uint32_t reserved_;
	struct tessera_psa_op_s op;
};

/*
 * Initializers: all fields zero, i.e. volatile lifetime, no id, no policy,
 * inactive. C++ has its own empty form, which -Wextra does not flag.
 */
/* clang-format off */
#ifdef __cplusplus
#define TESSERA_PSA_ZERO_INIT_    {}
#define TESSERA_PSA_OP_ZERO_INIT_ {}
#else
#define TESSERA_PSA_ZERO_INIT_    {0}
#define TESSERA_PSA_OP_ZERO_INIT_ {0}
#endif
/* clang-format on */
#define PSA_KEY_ATTRIBUTES_INIT           TESSERA_PSA_ZERO_INIT_
#define PSA_HASH_OPERATION_INIT           TESSERA_PSA_OP_ZERO_INIT_
#define PSA_MAC_OPERATION_INIT            TESSERA_PSA_OP_ZERO_INIT_
#define PSA_CIPHER_OPERATION_INIT         TESSERA_PSA_OP_ZERO_INIT_
#define PSA_AEAD_OPERATION_INIT           TESSERA_PSA_OP_ZERO_INIT_
#define PSA_KEY_DERIVATION_OPERATION_INIT TESSERA_PSA_OP_ZERO_INIT_

static inline psa_key_attributes_t psa_key_attributes_init(void)
{
	const psa_key_attributes_t v = PSA_KEY_ATTRIBUTES_INIT;

	return v;
}

static inline psa_hash_operation_t psa_hash_operation_init(void)
{
	const psa_hash_operation_t v = PSA_HASH_OPERATION_INIT;

	return v;
}

static inline psa_mac_operation_t psa_mac_operation_init(void)
{
	const psa_mac_operation_t v = PSA_MAC_OPERATION_INIT;

	return v;
}

static inline psa_cipher_operation_t psa_cipher_operation_init(void)
{
	const psa_cipher_operation_t v = PSA_CIPHER_OPERATION_INIT;

	return v;
}

static inline psa_aead_operation_t psa_aead_operation_init(void)
{
	const psa_aead_operation_t v = PSA_AEAD_OPERATION_INIT;

	return v;
}

static inline psa_key_derivation_operation_t psa_key_derivation_operation_init(void)
{
	const psa_key_derivation_operation_t v = PSA_KEY_DERIVATION_OPERATION_INIT;

	return v;
}

/*
 * Giving a volatile attribute object an id makes it describe a persistent
 * key in the default storage (the specification's rule); a non-volatile
 * lifetime is kept as it is.
 */
static inline void psa_set_key_id(psa_key_attributes_t *attributes, psa_key_id_t id)
{
	attributes->id = id;
	if (PSA_KEY_LIFETIME_IS_VOLATILE(attributes->lifetime))
		attributes->lifetime = PSA_KEY_LIFETIME_PERSISTENT;
}

static inline psa_key_id_t psa_get_key_id(const psa_key_attributes_t *attributes)
{
	return attributes->id;
}

/* A volatile lifetime drops the id: volatile keys get theirs when created. */
static inline void psa_set_key_lifetime(psa_key_attributes_t *attributes,
                                        psa_key_lifetime_t lifetime)
{
	attributes->lifetime = lifetime;
	if (PSA_KEY_LIFETIME_IS_VOLATILE(lifetime))
		attributes->id = PSA_KEY_ID_NULL;
}

static inline psa_key_lifetime_t psa_get_key_lifetime(const psa_key_attributes_t *attributes)
{
	return attributes->lifetime;
}

static inline void psa_set_key_usage_flags(psa_key_attributes_t *attributes,
                                           psa_key_usage_t usage_flags)
{
	attributes->usage = usage_flags;
}

static inline psa_key_usage_t psa_get_key_usage_flags(const psa_key_attributes_t *attributes)
{
	return attributes->usage;
}

static inline void psa_set_key_algorithm(psa_key_attributes_t *attributes, psa_algorithm_t alg)
{
	attributes->alg = alg;
}

static inline psa_algorithm_t psa_get_key_algorithm(const psa_key_attributes_t *attributes)
{
	return attributes->alg;
}

static inline void psa_set_key_type(psa_key_attributes_t *attributes, psa_key_type_t type)
{
	attributes->type = type;
}

static inline psa_key_type_t psa_get_key_type(const psa_key_attributes_t *attributes)
{
	return attributes->type;
}

static inline void psa_set_key_bits(psa_key_attributes_t *attributes, size_t bits)
{
	attributes->bits = bits;
}

static inline size_t psa_get_key_bits(const psa_key_attributes_t *attributes)
{
	return attributes->bits;
}

/* Back to the freshly initialized state. */
static inline void psa_reset_key_attributes(psa_key_attributes_t *attributes)
{
	*attributes = psa_key_attributes_init();
}

#ifdef __cplusplus
}
#endif

#endif
