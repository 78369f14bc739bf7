#include "wire/wire.h"

#include <string.h>

static void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static uint64_t get_u64(const uint8_t *p)
{
	return (uint64_t)get_u32(p) | ((uint64_t)get_u32(p + 4) << 32);
}

void wire_header_encode(const struct wire_header *h, uint8_t out[WIRE_HEADER_LEN])
{
	put_u32(out + 0, h->magic);
	put_u16(out + 4, h->hdr_size);
	out[6] = h->version_maj;
	out[7] = h->version_min;
	put_u16(out + 8, h->flags);
	out[10] = h->provider;
	put_u64(out + 11, h->session);
	out[19] = h->content_type;
	out[20] = h->accept_type;
	out[21] = h->auth_type;
	put_u32(out + 22, h->body_len);
	put_u16(out + 26, h->auth_len);
	put_u32(out + 28, h->opcode);
	put_u16(out + 32, h->status);
	out[34] = h->reserved1;
	out[35] = h->reserved2;
}

void wire_header_decode(const uint8_t in[WIRE_HEADER_LEN], struct wire_header *ret_h)
{
	ret_h->magic = get_u32(in + 0);
	ret_h->hdr_size = get_u16(in + 4);
	ret_h->version_maj = in[6];
	ret_h->version_min = in[7];
	ret_h->flags = get_u16(in + 8);
	ret_h->provider = in[10];
	ret_h->session = get_u64(in + 11);
	ret_h->content_type = in[19];
	ret_h->accept_type = in[20];
	ret_h->auth_type = in[21];
	ret_h->body_len = get_u32(in + 22);
	ret_h->auth_len = get_u16(in + 26);
	ret_h->opcode = get_u32(in + 28);
	ret_h->status = get_u16(in + 32);
	ret_h->reserved1 = in[34];
	ret_h->reserved2 = in[35];
}

void wire_prefix_decode(const uint8_t in[WIRE_PREFIX_LEN], uint32_t *ret_magic,
                        uint16_t *ret_hdr_size)
{
	*ret_magic = get_u32(in);
	*ret_hdr_size = get_u16(in + 4);
}

static void header_base(struct wire_header *h)
{
	memset(h, 0, sizeof(*h));
	h->magic = WIRE_MAGIC;
	h->hdr_size = WIRE_HEADER_SIZE_VALUE;
	h->version_maj = WIRE_VERSION_MAJ;
	h->version_min = WIRE_VERSION_MIN;
	h->content_type = WIRE_CONTENT_PROTOBUF;
	h->accept_type = WIRE_CONTENT_PROTOBUF;
}

void wire_header_set_flags(uint8_t hdr[WIRE_HEADER_LEN], uint16_t flags)
{
	put_u16(hdr + 8, flags);
}

void wire_header_request(struct wire_header *ret_h, uint32_t opcode, uint8_t provider,
                         uint8_t auth_type, uint32_t body_len, uint16_t auth_len)
{
	header_base(ret_h);
	ret_h->opcode = opcode;
	ret_h->provider = provider;
	ret_h->auth_type = auth_type;
	ret_h->body_len = body_len;
	ret_h->auth_len = auth_len;
}

void wire_header_response(const struct wire_header *req, uint16_t status, uint32_t body_len,
                          struct wire_header *ret_h)
{
	header_base(ret_h);
	ret_h->provider = req->provider;
	ret_h->session = req->session;
	ret_h->content_type = req->accept_type;
	ret_h->accept_type = 0;
	ret_h->opcode = req->opcode;
	ret_h->status = status;
	ret_h->body_len = body_len;
}

void wire_header_default_response(uint16_t status, struct wire_header *ret_h)
{
	header_base(ret_h);
	ret_h->accept_type = 0;
	ret_h->opcode = WIRE_OP_PING;
	ret_h->status = status;
}

enum ts_err wire_check_magic(uint32_t magic)
{
	return magic == WIRE_MAGIC ? TS_OK : TS_E_INVALID_HEADER;
}

enum ts_err wire_check_header(const struct wire_header *h, uint32_t body_len_limit)
{
	if (h->hdr_size != WIRE_HEADER_SIZE_VALUE)
		return TS_E_INVALID_HEADER;
	if (h->version_maj != WIRE_VERSION_MAJ || h->version_min != WIRE_VERSION_MIN)
		return TS_E_WIRE_VERSION_NOT_SUPPORTED;
	if (h->reserved1 != 0 || h->reserved2 != 0)
		return TS_E_INVALID_HEADER;
	if (h->body_len > body_len_limit)
		return TS_E_BODY_SIZE_EXCEEDS_LIMIT;
	return TS_OK;
}

enum ts_err wire_check_fields(const struct wire_header *h)
{
	if (h->content_type != WIRE_CONTENT_PROTOBUF)
		return TS_E_CONTENT_TYPE_NOT_SUPPORTED;
	if (h->accept_type != WIRE_CONTENT_PROTOBUF)
		return TS_E_ACCEPT_TYPE_NOT_SUPPORTED;
	if (h->auth_type > WIRE_AUTH_TYPE_MAX)
		return TS_E_AUTHENTICATOR_DOES_NOT_EXIST;
	if (wire_opcode_find(h->opcode) == NULL)
		return TS_E_OPCODE_DOES_NOT_EXIST;
	if (h->provider > WIRE_PROVIDER_ID_MAX)
		return TS_E_PROVIDER_DOES_NOT_EXIST;
	return TS_OK;
}
