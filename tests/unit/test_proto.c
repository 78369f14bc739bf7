/* Our .proto contracts encode to the bytes Parsec's do (hand-worked vectors). */
#include <criterion/criterion.h>
#include <string.h>

#include "delete_client.pb-c.h"
#include "list_opcodes.pb-c.h"
#include "list_providers.pb-c.h"
#include "ping.pb-c.h"
#include "psa_generate_key.pb-c.h"

Test(proto, ping_result_is_08_01)
{
	Ping__Result r = PING__RESULT__INIT;
	uint8_t out[8];

	r.wire_protocol_version_maj = 1;
	r.wire_protocol_version_min = 0;
	cr_assert_eq(ping__result__get_packed_size(&r), 2);
	ping__result__pack(&r, out);
	cr_assert_eq(out[0], 0x08);
	cr_assert_eq(out[1], 0x01);
}

/* The body of parsec-mock's list_providers response. */
static const uint8_t list_providers_body[] = {
        0x0a, 0x4d, 0x0a, 0x24, 'e', 'e', '8', '7',  '0',  'e',  '5',  'a',  '-',  'c',  'e',  '4',
        'a',  '-',  '4',  '1',  '7', 'f', '-', '8',  '5',  '4',  '3',  '-',  '8',  'f',  'b',  'd',
        '8',  '4',  'b',  '4',  '9', 'c', 'b', 'e',  0x12, 0x13, 'S',  'o',  'm',  'e',  ' ',  'e',
        'm',  'p',  't',  'y',  ' ', 'p', 'r', 'o',  'v',  'i',  'd',  'e',  'r',  0x1a, 0x08, 'A',
        'r',  'm',  ' ',  'L',  't', 'd', '.', 0x20, 0x09, 0x28, 0x08, 0x30, 0x07, 0x38, 0x02,
};

Test(proto, list_providers_vector_decodes)
{
	ListProviders__Result *r = list_providers__result__unpack(NULL, sizeof(list_providers_body),
	                                                          list_providers_body);

	cr_assert_not_null(r);
	cr_assert_eq(r->n_providers, 1);
	cr_assert_str_eq(r->providers[0]->uuid, "ee870e5a-ce4a-417f-8543-8fbd84b49cbe");
	cr_assert_str_eq(r->providers[0]->description, "Some empty provider");
	cr_assert_str_eq(r->providers[0]->vendor, "Arm Ltd.");
	cr_assert_eq(r->providers[0]->version_maj, 9);
	cr_assert_eq(r->providers[0]->version_min, 8);
	cr_assert_eq(r->providers[0]->version_rev, 7);
	cr_assert_eq(r->providers[0]->id, 2);
	list_providers__result__free_unpacked(r, NULL);
}

Test(proto, delete_client_operation)
{
	DeleteClient__Operation op = DELETE_CLIENT__OPERATION__INIT;
	uint8_t out[32];
	size_t n;

	op.client = "existing client";
	n = delete_client__operation__pack(&op, out);
	cr_assert_eq(n, 17);
	cr_assert_eq(out[0], 0x0a);
	cr_assert_eq(out[1], 0x0f);
	cr_assert_eq(memcmp(out + 2, "existing client", 15), 0);
}

Test(proto, list_opcodes_extension_field_is_1000)
{
	ListOpcodes__Operation op = LIST_OPCODES__OPERATION__INIT;
	uint8_t out[16];
	size_t n;

	op.provider_id = 1;
	n = list_opcodes__operation__pack(&op, out);
	cr_assert_eq(n, 2, "a Parsec client's request has only field 1");
	op.include_extensions = 1;
	n = list_opcodes__operation__pack(&op, out);
	cr_assert_eq(n, 5);
	cr_assert_eq(out[0], 0x08);
	cr_assert_eq(out[1], 0x01);
	/* tag (1000 << 3) | 0 = 8000 as a varint: 0xC0 0x3E */
	cr_assert_eq(out[2], 0xC0);
	cr_assert_eq(out[3], 0x3E);
	cr_assert_eq(out[4], 0x01);
}

Test(proto, key_attributes_field_numbers)
{
	PsaKeyAttributes__KeyAttributes attrs = PSA_KEY_ATTRIBUTES__KEY_ATTRIBUTES__INIT;
	PsaKeyAttributes__KeyType type = PSA_KEY_ATTRIBUTES__KEY_TYPE__INIT;
	PsaKeyAttributes__KeyType__EccKeyPair ecc =
	        PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_KEY_PAIR__INIT;
	PsaKeyAttributes__KeyPolicy policy = PSA_KEY_ATTRIBUTES__KEY_POLICY__INIT;
	PsaKeyAttributes__UsageFlags flags = PSA_KEY_ATTRIBUTES__USAGE_FLAGS__INIT;
	PsaAlgorithm__Algorithm alg = PSA_ALGORITHM__ALGORITHM__INIT;
	PsaAlgorithm__Algorithm__AsymmetricSignature sig =
	        PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__INIT;
	PsaAlgorithm__Algorithm__AsymmetricSignature__Ecdsa ecdsa =
	        PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__ECDSA__INIT;
	PsaAlgorithm__Algorithm__AsymmetricSignature__SignHash sh =
	        PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__INIT;
	PsaGenerateKey__Operation op = PSA_GENERATE_KEY__OPERATION__INIT;
	PsaGenerateKey__Operation *back;
	uint8_t out[128];
	size_t n;

	ecc.curve_family = PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECP_R1;
	type.variant_case = PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_KEY_PAIR;
	type.ecc_key_pair = &ecc;
	flags.sign_hash = 1;
	sh.variant_case =
	        PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__VARIANT_SPECIFIC;
	sh.specific = PSA_ALGORITHM__ALGORITHM__HASH__SHA_256;
	ecdsa.hash_alg = &sh;
	sig.variant_case = PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_ECDSA;
	sig.ecdsa = &ecdsa;
	alg.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_ASYMMETRIC_SIGNATURE;
	alg.asymmetric_signature = &sig;
	policy.key_usage_flags = &flags;
	policy.key_algorithm = &alg;
	attrs.key_type = &type;
	attrs.key_bits = 256;
	attrs.key_policy = &policy;
	op.key_name = "k";
	op.attributes = &attrs;

	n = psa_generate_key__operation__pack(&op, out);
	/* key_name=1 "k", then attributes=2 */
	cr_assert_eq(out[0], 0x0a);
	cr_assert_eq(out[1], 0x01);
	cr_assert_eq(out[2], 'k');
	cr_assert_eq(out[3], 0x12);
	/* attributes: key_type=1 { ecc_key_pair=11 { curve_family=1: 2 } } */
	cr_assert_eq(out[5], 0x0a);
	cr_assert_eq(out[7], 0x5a); /* field 11, length-delimited */
	cr_assert_eq(out[9], 0x08);
	cr_assert_eq(out[10], 0x02);
	/* key_bits=2: 256 */
	cr_assert_eq(out[11], 0x10);
	cr_assert_eq(out[12], 0x80);
	cr_assert_eq(out[13], 0x02);

	back = psa_generate_key__operation__unpack(NULL, n, out);
	cr_assert_not_null(back);
	cr_assert_eq(back->attributes->key_policy->key_usage_flags->sign_hash, 1);
	cr_assert_eq(back->attributes->key_policy->key_algorithm->asymmetric_signature->ecdsa
	                     ->hash_alg->specific,
	             PSA_ALGORITHM__ALGORITHM__HASH__SHA_256);
	psa_generate_key__operation__free_unpacked(back, NULL);
}
