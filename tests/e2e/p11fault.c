/*
 * A fault-injecting PKCS#11 module for the tests: it forwards every call to
 * the module named by $P11FAULT_MODULE (SoftHSM) and, for the calls named
 * in the file $P11FAULT_CTL, returns a chosen CK_RV instead. The control
 * file holds one line "C_Name 0xRV COUNT" (COUNT calls fail, then the file
 * is emptied; COUNT 0 fails every call); it is read on each wrapped call,
 * so a test can change it while the daemon runs. A session "dropped" with
 * CKR_SESSION_HANDLE_INVALID or CKR_SESSION_CLOSED is really closed in the
 * module underneath, as a token that lost it would.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

static CK_FUNCTION_LIST list;
static CK_FUNCTION_LIST_PTR real;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* The CK_RV to fail this call with, or CKR_OK. */
static CK_RV fault(const char *fn)
{
	const char *ctl = getenv("P11FAULT_CTL");
	char name[64] = "";
	unsigned long rv = 0;
	long count = 0;
	CK_RV ret = CKR_OK;
	FILE *f;

	if (ctl == NULL)
		return CKR_OK;
	pthread_mutex_lock(&lock);
	f = fopen(ctl, "r");
	if (f != NULL) {
		if (fscanf(f, "%63s %lx %ld", name, &rv, &count) == 3 && strcmp(name, fn) == 0)
			ret = (CK_RV)rv;
		fclose(f);
	}
	if (ret != CKR_OK && count > 0) {
		f = fopen(ctl, "w");
		if (f != NULL) {
			if (count > 1)
				fprintf(f, "%s 0x%lx %ld\n", name, rv, count - 1);
			fclose(f);
		}
	}
	pthread_mutex_unlock(&lock);
	return ret;
}

static CK_RV drop(CK_SESSION_HANDLE s, CK_RV rv)
{
	if (rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED)
		(void)real->C_CloseSession(s);
	return rv;
}

static CK_RV w_login(CK_SESSION_HANDLE s, CK_USER_TYPE u, CK_UTF8CHAR_PTR pin, CK_ULONG len)
{
	CK_RV rv = fault("C_Login");

	return rv != CKR_OK ? rv : real->C_Login(s, u, pin, len);
}

static CK_RV w_sign(CK_SESSION_HANDLE s, CK_BYTE_PTR d, CK_ULONG dl, CK_BYTE_PTR sig,
                    CK_ULONG_PTR sl)
{
	CK_RV rv = fault("C_Sign");

	if (rv != CKR_OK) {
		/* The operation ends with the call, as the standard says. */
		CK_BYTE tmp[1024];
		CK_ULONG n = sizeof(tmp);

		(void)real->C_Sign(s, d, dl, tmp, &n);
		return drop(s, rv);
	}
	return real->C_Sign(s, d, dl, sig, sl);
}

static CK_RV w_generate_key_pair(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_ATTRIBUTE_PTR pub,
                                 CK_ULONG npub, CK_ATTRIBUTE_PTR priv, CK_ULONG npriv,
                                 CK_OBJECT_HANDLE_PTR hpub, CK_OBJECT_HANDLE_PTR hpriv)
{
	CK_RV rv = fault("C_GenerateKeyPair");

	if (rv != CKR_OK)
		return drop(s, rv);
	return real->C_GenerateKeyPair(s, m, pub, npub, priv, npriv, hpub, hpriv);
}

static CK_RV w_generate_random(CK_SESSION_HANDLE s, CK_BYTE_PTR out, CK_ULONG len)
{
	CK_RV rv = fault("C_GenerateRandom");

	return rv != CKR_OK ? drop(s, rv) : real->C_GenerateRandom(s, out, len);
}

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ret)
{
	const char *path = getenv("P11FAULT_MODULE");
	CK_C_GetFunctionList get;
	void *lib;

	if (real == NULL) {
		lib = path != NULL ? dlopen(path, RTLD_NOW | RTLD_LOCAL) : NULL;
		get = lib != NULL ? (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList") : NULL;
		if (get == NULL || get(&real) != CKR_OK)
			return CKR_GENERAL_ERROR;
		list = *real;
		list.C_Login = w_login;
		list.C_Sign = w_sign;
		list.C_GenerateKeyPair = w_generate_key_pair;
		list.C_GenerateRandom = w_generate_random;
	}
	*ret = &list;
	return CKR_OK;
}
