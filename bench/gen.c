/* gen: realistic desk events for the benchmarks, repeatable from a seed.
 *
 *   gen [-s SEED] [-c CHANNEL] [-p PREFIX] messages N USERS
 *   gen [-s SEED] [-p PREFIX] cases N USERS
 *   gen [-s SEED] replies N CASES
 *
 * messages: N inbound messages from USERS users, interleaved, as desk-case
 * reads them after desk-webhook recv normalised them: half of the users on
 * the custom channel "app", 30% on the Chat2Desk channel "c2d" (numeric
 * client ids, external ids), 20% on the Blip channel "bot" (conversation
 * ids). Each user has one email, phone and name, which a message carries
 * 15%, 8% and 10% of the time; texts in eight languages, UTF-8, median line
 * about 259 bytes. -c CHANNEL puts every user on the custom channel CHANNEL.
 * cases: the events that make N cases for USERS users, one round of one
 * case per user after another: 1 or 2 messages, then a "status" event that
 * closes the case, but for the last round, whose cases stay open.
 * replies: N agent replies to cases 1..CASES.
 *
 * PREFIX (default "u") makes a set of users disjoint from another set's:
 * their user_custom_ids, emails and phones all differ (the default's are
 * as they always were);
 * SEED (default 42) changes texts, ids and who writes when. The random
 * numbers are our own (xorshift), so every machine prints the same bytes. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t rs;

static uint64_t
rnd(void)
{
	/* xorshift64*: libc's rand() differs between machines. */
	rs ^= rs >> 12;
	rs ^= rs << 25;
	rs ^= rs >> 27;
	return rs * 2685821657736338717ULL;
}

static unsigned
below(unsigned n)
{
	return (unsigned)((rnd() >> 32) % n);
}

static int
chance(unsigned percent)
{
	return below(100) < percent;
}

#define N_(a) (sizeof(a) / sizeof((a)[0]))

/* Sentences a customer writes, by language: no quote or backslash, so they
 * go into JSON as they are. */
static const char *const en[] = {
	"Hi, where is my order? It was due yesterday.",
	"I cannot log in to my account since this morning.",
	"The app keeps crashing when I open the payment page.",
	"Can you tell me when the courier will arrive?",
	"I was charged twice for the same subscription, please refund one.",
	"Thanks!",
	"Hello?",
	"My order number is 4471-2290, the parcel shows delivered but nothing came.",
	"How do I change the delivery address after paying?",
	"The promo code SUMMER24 says it is expired but the banner says valid until Friday.",
	"ok",
	"Still waiting for an answer, this is the third time I write.",
	"Is there a way to pause my plan for a month?",
};
static const char *const de[] = {
	"Guten Tag, meine Bestellung ist immer noch nicht angekommen.",
	"Ich möchte mein Abo kündigen, wie geht das?",
	"Die Rechnung für März fehlt in meinem Konto.",
	"Können Sie mir bitte die Sendungsnummer schicken?",
	"Vielen Dank für die schnelle Hilfe!",
	"Das Passwort zurücksetzen funktioniert nicht, ich bekomme keine E-Mail.",
	"Größe M war zu klein, ich würde gern umtauschen.",
};
static const char *const ru[] = {
	"Здравствуйте, где мой заказ? Обещали доставить вчера.",
	"Не могу войти в личный кабинет, пишет неверный пароль.",
	"Списали деньги два раза, верните, пожалуйста.",
	"Спасибо, всё получил!",
	"Когда приедет курьер? Жду с утра.",
	"Подскажите, как поменять тариф на годовой?",
	"Приложение вылетает при оплате картой.",
};
static const char *const es[] = {
	"Hola, mi pedido no ha llegado todavía.",
	"¿Cómo puedo cambiar la dirección de envío?",
	"Me cobraron dos veces el mismo mes.",
	"¡Muchas gracias por la ayuda!",
	"La aplicación no me deja iniciar sesión desde ayer.",
};
static const char *const pt[] = {
	"Olá, meu pedido ainda não chegou, já faz uma semana.",
	"Não consigo acessar minha conta pelo aplicativo.",
	"Quero cancelar a assinatura, por favor.",
	"Obrigado pelo retorno!",
	"O código de rastreio não funciona no site dos Correios.",
};
static const char *const tr[] = {
	"Merhaba, siparişim hâlâ gelmedi.",
	"Şifremi sıfırlayamıyorum, e-posta gelmiyor.",
	"İade işlemi ne zaman tamamlanır?",
	"Teşekkürler, sorun çözüldü.",
};
static const char *const zh[] = {
	"你好，我的订单还没有到，已经过了三天。",
	"我无法登录我的账户，一直提示密码错误。",
	"请问怎么修改收货地址？",
	"谢谢你们的帮助！",
	"付款页面打不开，是系统问题吗？",
};
static const char *const ar[] = {
	"مرحبا، لم يصل طلبي حتى الآن.",
	"لا أستطيع تسجيل الدخول إلى حسابي.",
	"شكرا جزيلا على المساعدة!",
	"متى سيصل المندوب؟",
};
static const char *const emoji[] = {
	" 🙏", " 😡", " 👍", " 😊", " 📦", " ❤️", " 🤔", "",
};

struct lang {
	const char *const *s;
	unsigned n, weight;
};
static const struct lang langs[] = {
	{ en, N_(en), 40 }, { ru, N_(ru), 18 }, { de, N_(de), 12 },
	{ es, N_(es), 10 }, { pt, N_(pt), 8 }, { tr, N_(tr), 5 },
	{ zh, N_(zh), 4 }, { ar, N_(ar), 3 },
};

static const char *const agent[] = {
	"Thanks for waiting! I have checked your order: it left our warehouse today and should arrive tomorrow.",
	"Sorry for the trouble. I have refunded the second charge, you will see it in 3 to 5 days.",
	"Could you send me the order number and the email you used at checkout?",
	"Здравствуйте! Проверил ваш заказ, курьер будет сегодня с 14 до 18.",
	"Guten Tag, ich habe Ihnen einen neuen Link zum Zurücksetzen geschickt.",
	"Hola, ya actualizamos la dirección de envío. ¡Gracias por avisar!",
	"Done, your plan is paused until the 1st of next month.",
	"I have passed this to our technical team, we will write back as soon as we know more.",
};

static const char *const first[] = {
	"Anna", "Peter", "Olga", "Mehmet", "Lucía", "João", "Wei", "Fatima",
	"Jürgen", "Sergei", "Emma", "Ahmed", "Chloé", "Ivan", "Sofia", "Li",
};
static const char *const last[] = {
	"Müller", "Ivanova", "Smith", "Yılmaz", "García", "Silva", "Wang",
	"Haddad", "Schmidt", "Petrov", "Brown", "Kowalski", "Dubois", "Rossi",
};
static const char *const domains[] = {
	"gmail.com", "yandex.ru", "mail.ru", "outlook.com", "web.de",
	"yahoo.com", "example.org", "icloud.com",
};
static const char *const mimes[][2] = {
	{ "image/jpeg", "photo.jpg" }, { "application/pdf", "invoice.pdf" },
	{ "image/png", "screenshot.png" },
};

/* A user's attributes follow from the seed and its number alone, so every
 * message of the user carries the same email, phone and name. */
struct user {
	unsigned k;
	int chan; /* 0 custom, 1 chat2desk, 2 blip */
	const char *first, *last, *domain;
	unsigned long phone;
};

static uint64_t seed;
static const char *prefix = "u", *custom = NULL;
static unsigned long prefix_mix;  /* 0 for "u": its users' phones, emails */

static struct user
user_of(unsigned k)
{
	uint64_t save = rs;
	struct user u;

	rs = (seed ^ 0x9e3779b97f4a7c15ULL) + k * 0xbf58476d1ce4e5b9ULL + 1;
	rnd();
	u.k = k;
	u.chan = custom ? 0 : chance(50) ? 0 : chance(60) ? 1 : 2;
	u.first = first[below(N_(first))];
	u.last = last[below(N_(last))];
	u.domain = domains[below(N_(domains))];
	u.phone = 9000000000UL + ((unsigned long)k * 7919 + prefix_mix) % 999999999;
	rs = save;
	return u;
}

static const char *
chan_name(const struct user *u)
{
	return custom ? custom : u->chan == 0 ? "app" : u->chan == 1 ? "c2d" : "bot";
}

static void
user_id(const struct user *u)
{
	switch (u->chan) {
	case 0: printf("\"user_custom_id\":\"%s-%u\"", prefix, u->k); break;
	case 1: printf("\"user_custom_id\":\"%u%u\"", (unsigned)(*prefix % 9 + 1), 500000000 + u->k); break;
	default: printf("\"user_custom_id\":\"%s%u@0mn.io\",\"conversation_id\":\"%s-t%u\"",
	    prefix, u->k, prefix, u->k);
	}
}

/* content: 1 to 4 sentences of one language, now and then an emoji, a
 * second line or an order number. */
static void
content(void)
{
	unsigned w = below(100), i, j, n;
	const struct lang *l = langs;

	for (i = 0; i < N_(langs); i++) {
		if (w < langs[i].weight) {
			l = &langs[i];
			break;
		}
		w -= langs[i].weight;
	}
	n = 1 + below(3) + (chance(38) ? 1 : 0);
	j = below(l->n);
	fputs("\"content\":\"", stdout);
	for (i = 0; i < n; i++) {
		if (i > 0)
			fputs(chance(20) ? "\\n" : " ", stdout);
		/* A step of 1..l->n-1 never repeats a sentence next to itself. */
		j = (j + 1 + below(l->n - 1)) % l->n;
		fputs(l->s[j], stdout);
	}
	if (chance(20))
		printf(" #%u", 100000 + below(900000));
	fputs(emoji[below(N_(emoji))], stdout);
	fputs("\"", stdout);
}

static unsigned long evt;

static void
message(const struct user *u)
{
	evt++;
	printf("{\"channel\":\"%s\",", chan_name(u));
	switch (u->chan) {
	case 0: printf("\"id\":\"%s-%llx-%lu\",", prefix, (unsigned long long)seed, evt); break;
	case 1: printf("\"id\":\"%llu\",", (unsigned long long)(seed % 1000) * 1000000000ULL + 100000000 + evt); break;
	default: printf("\"id\":\"fwd:%08x-%04x-%lu\",", (unsigned)(rnd() >> 32), (unsigned)(seed & 0xffff), evt);
	}
	user_id(u);
	putchar(',');
	content();
	if (chance(15))
		printf(",\"email\":\"%s.%s%s%u@%s\"", u->first, u->last,
		    prefix_mix ? prefix : "", u->k, u->domain);
	if (chance(8))
		printf(",\"phone\":\"+7%lu\"", u->phone);
	if (chance(10))
		printf(",\"name\":\"%s %s\"", u->first, u->last);
	if (u->chan == 0 && chance(10))
		printf(",\"subject\":\"Order %u\"", 100000 + below(900000));
	if (chance(3)) {
		unsigned m = below(N_(mimes));
		printf(",\"attachments\":[{\"url\":\"https://files.example.net/%08x/%s\","
		    "\"file_name\":\"%s\",\"mime_type\":\"%s\",\"file_size\":%u}]",
		    (unsigned)(rnd() >> 32), mimes[m][1], mimes[m][1], mimes[m][0],
		    1000 + below(4000000));
	}
	if (u->chan == 1)
		printf(",\"external\":{\"client_id\":\"%u\",\"dialog_id\":\"%u\","
		    "\"channel_id\":\"17\",\"transport\":\"%s\"}",
		    500000000 + u->k, 7000000 + u->k, chance(70) ? "telegram" : "whatsapp");
	if (u->chan == 2)
		printf(",\"external\":{\"ticket_id\":\"%s-t%u\"}", prefix, u->k);
	fputs("}\n", stdout);
}

static void
status_closed(const struct user *u)
{
	printf("{\"type\":\"status\",\"channel\":\"%s\",", chan_name(u));
	printf("\"user_custom_id\":\"");
	switch (u->chan) {
	case 0: printf("%s-%u", prefix, u->k); break;
	case 1: printf("%u%u", (unsigned)(*prefix % 9 + 1), 500000000 + u->k); break;
	default: printf("%s%u@0mn.io", prefix, u->k);
	}
	printf("\",\"status\":\"closed\"}\n");
}

static int
usage(void)
{
	fprintf(stderr, "usage: gen [-s SEED] [-c CHANNEL] [-p PREFIX] "
	    "messages|cases|replies N USERS|CASES\n");
	return 64;
}

int
main(int argc, char **argv)
{
	unsigned long n, users, i;
	int c;

	seed = 42;
	while ((c = getopt(argc, argv, "s:c:p:")) != -1) {
		switch (c) {
		case 's': seed = strtoull(optarg, NULL, 10); break;
		case 'c': custom = optarg; break;
		case 'p': prefix = optarg; break;
		default: return usage();
		}
	}
	if (argc - optind != 3 || *prefix == '\0')
		return usage();
	if (strcmp(prefix, "u") != 0) {
		prefix_mix = 2166136261UL;        /* FNV-1a, 32 bits */
		for (const char *p = prefix; *p; p++)
			prefix_mix = (prefix_mix ^ (unsigned char)*p) * 16777619UL % 4294967296UL;
		prefix_mix = prefix_mix % 999999998 + 1;
	}
	n = strtoul(argv[optind + 1], NULL, 10);
	users = strtoul(argv[optind + 2], NULL, 10);
	if (users == 0 || users > 4000000000UL)
		return usage();
	rs = seed * 0x2545f4914f6cdd1dULL + 0x9e3779b97f4a7c15ULL;
	if (strcmp(argv[optind], "messages") == 0) {
		for (i = 0; i < n; i++) {
			struct user u = user_of(below((unsigned)users));
			message(&u);
		}
	} else if (strcmp(argv[optind], "cases") == 0) {
		/* Case i is user i % USERS's (i / USERS)th: its previous case
		 * was closed a whole round of users earlier. */
		for (i = 0; i < n; i++) {
			struct user u = user_of((unsigned)(i % users));
			message(&u);
			if (chance(50))
				message(&u);
			if (i + users < n)
				status_closed(&u);
		}
	} else if (strcmp(argv[optind], "replies") == 0) {
		for (i = 0; i < n; i++)
			printf("{\"type\":\"reply\",\"case_id\":%u,\"id\":\"r-%llx-%lu\","
			    "\"staff_id\":%u,\"content\":\"%s\"}\n",
			    1 + below((unsigned)users), (unsigned long long)seed, i,
			    1 + below(40), agent[below(N_(agent))]);
	} else
		return usage();
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "gen: stdout: %s\n", strerror(errno));
		return 74;
	}
	return 0;
}
