"""Held-out templates for the content-policy corpus (held-out set v2).

Written on 2026-12-01, before any further tuning of the rules or the
model, after the first held-out split (every fourth template of
tools/content_templates.py) had been scored too often during
development to stay clean; those templates now join training.  Every
message built from this file lands in the "test" split; nothing here
is read by training, cross-validation or threshold choice
(tools/train_content_model.py reads only "train" and "dev").  Frozen:
do not edit these templates to make a model pass; add new ones to
tools/content_templates.py for training instead.

Same shape as content_templates.py: (category, lang, hard, [templates]).
"""

REFUSE = [
    ("promotion", "en", False, [
        "This week only at {shop}: every {product} marked down {pct}%, while supplies last.",
        "Weekend treat! Show this message in store and pay {pct}% less on {product}.",
        "Our anniversary sale starts {day}: prices down up to {pct}% across the store.",
        "Spend {amount} SAR and walk away with a free gift bag — only until {day}.",
    ]),
    ("promotion", "en", True, [
        "Thanks for collecting order #{order}! Come back before {day} and your next one is on us up to {amount} SAR.",
        "Still thinking about the {product}? It's waiting in your basket, and the price dropped tonight.",
        "Payment for invoice {order} received. P.S. members get an extra {pct}% this week — upgrade in the app.",
    ]),
    ("promotion", "ar", False, [
        "عروض نهاية الأسبوع في {ashop}: خصم {pct}٪ على جميع {aproduct} لفترة محدودة.",
        "لا تفوّت تخفيضات الموسم! اشترِ قطعتين واحصل على الثالثة مجاناً.",
    ]),
    ("promotion", "ar-gulf", True, [
        "حياك الله! توصيلك علينا اليوم بس على أي طلب من {ashop}، لا يفوتك.",
        "الحق قبل يخلص: كل {aproduct} بنص السعر لين {aday}.",
        "طلبك رقم {order} وصل 👌 وترا عندنا كود جديد يعطيك {pct}٪ على الطلب الجاي.",
    ]),
    ("promotion", "arabizi", False, [
        "3roodh el weekend bad2at! kel el {product} b nos el se3r 7atta {day}.",
        "ya {zname} 3endna 5asm {pct}% 3ala kel shi lel yom bas, la tfawet!",
    ]),
    ("promotion", "mixed", False, [
        "Flash offer من {ashop}: {pct}% off على كل {aproduct} اليوم فقط!",
    ]),
    ("marketing", "en", False, [
        "It's been a while, {name}! We've missed seeing you at {shop} — drop by this month and say hi.",
        "Meet the new {product} range: designed in {city}, made to last. See the full lookbook on our page.",
        "Invite three friends to {shop} and you'll all get a month of premium on the house.",
    ]),
    ("marketing", "en", True, [
        "Hey {name}, haven't heard from you in a bit. Everything okay? Your favourites are back in stock.",
        "Know someone who'd love {shop}? Share your personal link and both of you get rewarded.",
        "Join the {shop} family on Instagram for behind-the-scenes stories and first looks at new arrivals.",
    ]),
    ("marketing", "ar", False, [
        "اكتشف مجموعتنا الجديدة من {aproduct} الآن في جميع فروع {ashop}، وتابعنا على إنستغرام.",
        "ادعُ أصدقاءك إلى تطبيق {ashop} واحصل على رصيد إضافي عن كل صديق يسجل.",
    ]),
    ("marketing", "ar-gulf", True, [
        "وحشتنا يا {aname}! صار لك فترة ما زرتنا، ننتظرك في {ashop} هالأسبوع.",
        "نفتقدك 💛 تعال شوف وش الجديد عندنا في {aproduct}.",
    ]),
    ("marketing", "arabizi", True, [
        "wa7ashtna ya {zname}! sarlak fatra ma zortna, ta3al shouf el jdeed 3ena.",
        "shareek el link ma3 s7abak w kel wa7ed ysajel te7sal 3ala hdeyye.",
    ]),
    ("marketing", "mixed", False, [
        "New collection وصلت! شوفوا آخر {aproduct} على الموقع وتابعونا on TikTok.",
    ]),
    ("cold_outreach", "en", False, [
        "Hello, I'm Rami from a logistics firm in {city}. We help retailers cut delivery costs — could we book a 15-minute call?",
        "Dear {name}, we are a certified supplier of packaging materials and would like to introduce our catalogue to your company.",
    ]),
    ("cold_outreach", "en", True, [
        "Hi {name}, I came across your clinic on Google Maps. We build booking systems for clinics like yours; open to a quick chat?",
        "Saw your team is hiring drivers. We run a fleet-tracking platform used by 200 firms in {city}. Worth a conversation next week?",
        "Good morning, my name is Hana and I handle partnerships at a marketing agency. I'd love to show you how we grew a bakery's orders 3x.",
    ]),
    ("cold_outreach", "ar", False, [
        "السلام عليكم، نحن شركة متخصصة في تصميم المواقع ونود عرض خدماتنا على مؤسستكم الكريمة.",
    ]),
    ("cold_outreach", "ar-gulf", True, [
        "مساء الخير أستاذ {aname}، شفت محلكم في {acity} وحبيت أعرفك على خدماتنا في المحاسبة، يناسبك نتواصل؟",
        "هلا والله، احنا مورد معتمد للمعدات الطبية وودنا نزوركم ونعرض عليكم المنتجات.",
    ]),
    ("cold_outreach", "arabizi", True, [
        "marhaba, ana Fahad men sharikat tasmeem, shefna sh3arkom w 7abeena n2adem lakom 5adamatna. mumkin nt3arraf?",
    ]),
    ("cold_outreach", "mixed", False, [
        "Hi, احنا agency متخصصة في social media، نقدر نساعدكم تزيدون المبيعات. Free consultation?",
    ]),
    ("bulk_campaign", "en", False, [
        "Forward this to every contact in your phone — the more people see it, the better!",
        "Broadcast to all members: the {shop} summer programme is open, pass it to everyone you know.",
    ]),
    ("bulk_campaign", "en", True, [
        "Please share this message with all your groups so it reaches as many families in {city} as possible.",
        "You are receiving this because your number is on our community list. Reply STOP to opt out.",
    ]),
    ("bulk_campaign", "ar", False, [
        "انشر هذه الرسالة في جميع المجموعات ولك الأجر، أرسلها لكل من في قائمتك.",
    ]),
    ("bulk_campaign", "ar-gulf", True, [
        "الله يعافيك دزها لكل القروبات اللي عندك، خلها توصل لأكبر عدد.",
    ]),
    ("bulk_campaign", "arabizi", False, [
        "ib3ath hal message la kel el contacts 3endak w el groups, daroori el kel ysoofha!",
    ]),
    ("bulk_campaign", "mixed", False, [
        "Share مع كل الـ groups عندك please، نبي نوصل لكل الناس.",
    ]),
    ("political", "en", False, [
        "On {day}, make your voice count: vote {cand} for a cleaner, safer {city}.",
        "Join the rally for {cand} this {day} at the central square — bring your family and neighbours.",
    ]),
    ("political", "en", True, [
        "Polls close at 8 tonight. Have you done your part? {cand}'s team can drive you to your station.",
        "Our district deserves better roads and schools. On {day}, remember who stood with you: {cand}.",
    ]),
    ("political", "ar", False, [
        "صوتك أمانة، انتخب {acand} يوم {aday} من أجل مستقبل أفضل لمدينتنا.",
    ]),
    ("political", "ar-gulf", True, [
        "لا تنسى يوم {aday} تعطي صوتك لـ{acand}، ولدنا وما نبي غيره يمثلنا.",
    ]),
    ("political", "arabizi", False, [
        "la tensa t9awet l {cand} yom el {day}, 9otak y3'ayer!",
    ]),
    ("political", "mixed", False, [
        "Vote لـ{acand} يوم {aday}، together نبني مستقبل أفضل.",
    ]),
    ("scam_phishing", "en", False, [
        "Your bank card has been suspended. Confirm your PIN at {link} within 2 hours to restore it.",
        "Customs notice: your parcel is held, pay a {amount} SAR release fee at {link} today.",
    ]),
    ("scam_phishing", "en", True, [
        "Hi {name}, this is the IT desk. We noticed unusual sign-ins; send us the code you just received so we can secure your account.",
        "Earn {amount} SAR a day liking videos from home. Message our coordinator to start, no experience needed.",
        "Our trading group turned 500 into 4,000 USDT last month. DM me and I'll add you to the signals channel.",
    ]),
    ("scam_phishing", "ar", False, [
        "تم تعليق حسابك البنكي، يرجى تحديث بياناتك عبر الرابط {link} لتجنب الإيقاف.",
    ]),
    ("scam_phishing", "ar-gulf", True, [
        "هلا أخوي، أنا من خدمة العملاء، وصلك كود على جوالك؟ أرسله لي عشان نفعل حسابك.",
        "استثمر معنا في العملات الرقمية وربحك مضمون ٣٠٪ بالأسبوع، كلمني خاص.",
    ]),
    ("scam_phishing", "arabizi", True, [
        "akhi wslak code 3ala jawalak? ab3atholi 3ashan afa3el 7esabak bsor3a.",
        "estathmer ma3ana bel bitcoin w erba7 {pct}% kel osboo3, mad'moon 100%.",
    ]),
    ("scam_phishing", "mixed", False, [
        "Your account سيتم إيقافه خلال ٢٤ ساعة، verify now عبر {link}.",
    ]),
    ("gambling", "en", False, [
        "Spin the wheel tonight at Royal Ace Casino — first 50 spins on the house.",
        "{team} vs {team}: boosted odds only on our app. Deposit now and back your team.",
    ]),
    ("gambling", "en", True, [
        "Tonight's tip: the over 2.5 goals line in the {team} game. Stake small, win big. Link in bio.",
        "Jackpot hit 2 million! Tickets close at midnight — get yours in the app.",
    ]),
    ("gambling", "ar", False, [
        "راهن الآن على مباراة {team} واحصل على مضاعفة أرباحك في أول رهان.",
    ]),
    ("gambling", "ar-gulf", True, [
        "تبي تربح من المباريات؟ توقعاتنا مضمونة، حط مبلغ بسيط وتطلع بالكثير.",
    ]),
    ("gambling", "arabizi", False, [
        "ra7en 3ala match {team} el lela, el odds 3alya w el rbe7 mad'moon!",
    ]),
    ("gambling", "mixed", False, [
        "Casino online جديد، سجّل الحين وخذ bonus ١٠٠٪ على أول deposit.",
    ]),
]

ALLOW = [
    ("offer_letter", "en", True, [
        "Dear {name}, please find attached your offer letter for the Operations Coordinator role. Kindly review the salary and benefits section and reply by {day}.",
    ]),
    ("order", "en", False, [
        "Your order #{order} is out for delivery and should reach you between {time} and 6 PM.",
        "We've received your return for order {order}; the refund of {amount} SAR will show in 3-5 working days.",
    ]),
    ("order", "en", True, [
        "Order #{order}: the {pct}% member discount you claimed at checkout has been applied; total charged {amount} SAR.",
        "Your gift card purchase is complete. The voucher code {code} is for the recipient and can be used until December.",
    ]),
    ("otp", "en", True, [
        "{otp} is your verification code. Never share it — our staff will never ask for it. Your reward points balance is unchanged.",
    ]),
    ("shipping", "en", True, [
        "Your shipment cleared customs in {city} today; duties of {amount} SAR were prepaid, so nothing is due on delivery.",
    ]),
    ("appointment", "en", False, [
        "Reminder: your dental cleaning is on {day} at {time}. Reply 1 to confirm or 2 to reschedule.",
    ]),
    ("appointment", "en", True, [
        "Your massage booking on {day} at {time} is confirmed. The spa package you bought covers it in full.",
    ]),
    ("billing", "en", True, [
        "Your statement is ready: {amount} SAR spent, 320 cashback points earned this month, 40 points expiring on the 30th.",
        "Invoice {order} for {amount} SAR is due on {day}. The early-payment discount of 2% applies if paid before then.",
    ]),
    ("support", "en", False, [
        "Thanks for reaching out, {name}. We've logged your complaint as ticket {order} and a technician will call you tomorrow.",
    ]),
    ("support", "en", True, [
        "You asked about the promotion on your last bill: it was a one-off credit of {amount} SAR and has been applied.",
        "As requested, here's the link to unsubscribe from our newsletter: it takes effect within 24 hours.",
    ]),
    ("internal", "en", True, [
        "Team: the sales target for Q3 is in the shared drive. Please update your pipeline before {day}'s meeting.",
        "Reminder to all staff: the office will be closed on election day; polling stations are listed on the ministry site.",
    ]),
    ("notice", "en", True, [
        "Security notice: we will never ask for your password or OTP. If someone calls claiming to be us, hang up and report it.",
    ]),
    ("account", "en", True, [
        "Your subscription renewed on {day} at {amount} SAR. Your free trial credit was used first, so only the balance was charged.",
    ]),
    ("order", "ar", False, [
        "تم شحن طلبك رقم {order} وسيصلك خلال يومين عمل.",
    ]),
    ("order", "ar", True, [
        "تم تطبيق خصم {pct}٪ الذي استخدمته على طلبك رقم {order}، والمبلغ النهائي {amount} ريال.",
    ]),
    ("offer_letter", "ar", True, [
        "عزيزي {aname}، مرفق عرض العمل لوظيفة محاسب، يرجى مراجعة الراتب والمزايا والرد قبل {aday}.",
    ]),
    ("billing", "ar", True, [
        "كشف حسابك الشهري: رصيد نقاط المكافآت ٨٥٠ نقطة، تنتهي صلاحية ١٠٠ نقطة نهاية الشهر.",
    ]),
    ("appointment", "ar", False, [
        "نذكرك بموعدك في العيادة يوم {aday} الساعة {time}، الرجاء الحضور قبل الموعد بربع ساعة.",
    ]),
    ("support", "ar", True, [
        "بخصوص استفسارك عن العرض في فاتورتك: تمت إضافة رصيد {amount} ريال إلى حسابك.",
    ]),
    ("otp", "ar", True, [
        "رمز التحقق الخاص بك {otp}. لا تشاركه مع أحد، وستضاف نقاط المكافأة بعد إتمام الشراء.",
    ]),
    ("order", "ar-gulf", False, [
        "هلا {aname}، طلبك جاهز تقدر تمر تستلمه من الفرع اليوم لين الساعة ١٠ بالليل.",
    ]),
    ("support", "ar-gulf", True, [
        "أبشر، التوصيل علينا هالمرة بسبب التأخير اللي صار في طلبك رقم {order}، نعتذر منك.",
        "الهدية اللي طلبتها مع طلبك ببلاش مثل ما اتفقنا، وبتوصلك مع الشحنة بكرة.",
    ]),
    ("internal", "ar-gulf", True, [
        "يا شباب اجتماع فريق المبيعات بكرة الساعة ٩، جهزوا أرقام العروض اللي قدمناها للعملاء.",
    ]),
    ("shipping", "ar-gulf", True, [
        "شحنتك خلصت التخليص الجمركي في {acity}، والرسوم مدفوعة مقدماً، ما عليك شي وقت الاستلام.",
    ]),
    ("order", "arabizi", False, [
        "ya {zname}, talabak ra2am {order} wasal el far3, te2dar tistalmo men el sa3a {time}.",
    ]),
    ("support", "arabizi", True, [
        "ya {zname} el ta2$eer mn 3enna, el tawseel 3alena hal marra w el talab bywsal bokra.",
    ]),
    ("appointment", "arabizi", False, [
        "mar7aba {zname}, maw3edak 3end el doctor yom {day} el sa3a {time}, eza ma t2dar tiji 5abberna.",
    ]),
    ("otp", "arabizi", True, [
        "el code taba3ak {otp}, la t3tih la 7ada. el no2at rah tenzal b 7esabak ba3d el shira.",
    ]),
    ("order", "mixed", True, [
        "Your order #{order} تم شحنه، والـ discount code اللي استخدمته طُبّق على الفاتورة.",
    ]),
    ("appointment", "mixed", False, [
        "Reminder: موعدك يوم {aday} الساعة {time} في clinic {acity}.",
    ]),
    ("internal", "mixed", True, [
        "Team، الـ promo campaign للعميل لازم تتراجع قبل {aday}، please راجعوا الـ brief.",
    ]),
]
