"""Hand-written message templates for the content-policy corpus.

Each group is (label, category, lang, hard, [templates]).  ``hard`` marks
allowed messages that use sales-like words and refused messages that use
none.  Slots in braces are filled by tools/build_content_corpus.py from
the FILL lists below.  Templates are split train/dev/test as whole
templates, so a held-out phrasing never appears in training.
"""

FILL = {
    "name": ["Sara", "Ahmed", "Noura", "Faisal", "Lina", "Omar", "Huda",
             "Khalid", "Maha", "Yousef", "Reem", "Tariq", "Dana", "Majed"],
    "shop": ["Nakheel Mall", "FitZone", "Bloom Florist", "Al Majd Electronics",
             "Zaatar House", "UrbanKicks", "Lulu Optics", "CarePlus Pharmacy",
             "Dune Coffee", "HomeNest Furniture", "Sahara Tours", "GlowSpa"],
    "product": ["sneakers", "air fryer", "abaya collection", "gaming laptop",
                "perfume set", "office chairs", "iPhone cases", "protein bars",
                "winter jackets", "smart watch"],
    "pct": ["10", "15", "20", "25", "30", "40", "50", "60", "70"],
    "code": ["SAVE20", "BACK20", "EID30", "VIP15", "WELCOME10", "FLASH50",
             "RAMADAN25", "GIFT10"],
    "order": ["5521", "48213", "A-1182", "99120", "77310", "31904", "12098",
              "60457", "8842"],
    "amount": ["75", "120", "245", "318.50", "1,150", "89", "460", "2,300"],
    "day": ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday",
            "Saturday", "tomorrow"],
    "time": ["9:15", "10:30", "4:00 PM", "11:00", "5:45 PM", "8:30 AM"],
    "city": ["Riyadh", "Jeddah", "Dammam", "Khobar", "Dubai", "Doha",
             "Kuwait City", "Muscat"],
    "otp": ["663019", "4821", "902214", "7731", "150926", "38417"],
    "link": ["bit.ly/3xQz9", "tinyurl.com/k9a2", "secure-verify-acc.com",
             "wa.me/966500000000", "bonus-win.club", "track-parcel-sa.info",
             "my-acct-check.net"],
    "cand": ["Dr. Salem", "Abu Fahad", "Eng. Hamad", "Ms. Latifa",
             "Mr. Nasser", "List 4"],
    "team": ["Al Hilal", "Al Nassr", "Barcelona", "Real Madrid", "Al Ittihad",
             "Liverpool"],
    "aname": ["سارة", "أحمد", "نورة", "فيصل", "لينا", "عمر", "هدى", "خالد",
              "مها", "يوسف", "ريم", "طارق", "أبو فهد", "أم سلطان"],
    "ashop": ["مطعم زعتر", "صيدلية الرعاية", "معرض الماجد", "نادي فت زون",
              "مشغل الريم", "محمصة الديرة", "مكتبة جرير", "أثاث البيت الحديث",
              "مغسلة النظافة", "قهوة الكثبان", "سبا الندى", "معرض السيارات"],
    "aproduct": ["العبايات", "الجوالات", "العطور", "الأثاث", "الساعات",
                 "الملابس الشتوية", "المكيفات", "الأحذية", "القهوة المختصة"],
    "aday": ["الأحد", "الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "السبت",
             "بكرة", "غداً"],
    "acity": ["الرياض", "جدة", "الدمام", "الخبر", "دبي", "الدوحة", "الكويت",
              "مسقط", "أبها"],
    "acand": ["أبو فهد", "د. سالم", "المهندس حمد", "أم خالد", "القائمة رقم 4",
              "المرشح ناصر"],
    "zname": ["Sara", "Ahmad", "Noura", "Fahad", "3ali", "Mo7ammad", "Reem",
              "5aled"],
}

# --- refused --------------------------------------------------------------

REFUSE = [
    ("promotion", "en", False, [
        "Mega sale this weekend only: {pct}% off everything at {shop}, shop now!",
        "Use code {code} at checkout for {pct}% off your next order. Valid until {day}!",
        "Flash sale! {product} now {pct}% off for the next 24 hours only.",
        "Buy one get one free on all {product} at {shop}. Limited time!",
        "Exclusive deal for you, {name}: {pct}% off if you upgrade today.",
        "End of season clearance sale: up to {pct}% off {product}. Don't miss out!",
        "Last chance! Our {pct}% off offer ends tonight at midnight.",
        "Double points weekend at {shop}: earn 2x on every purchase + free delivery.",
        "Hurry, {name}! Your {pct}% discount code {code} expires in 3 hours.",
        "Black Friday is here 🔥 Save up to {pct}% on {product}. Tap to shop.",
        "Get a FREE {product} with any order over {amount} SAR this week only!",
        "Special offer: 3 months of FitZone membership for the price of 1. Join now!",
        "Ramadan Kareem from {shop}! Enjoy {pct}% off iftar boxes all month.",
        "Prices slashed! {product} from just {amount} SAR while stocks last.",
        "Treat yourself this weekend: {pct}% off all spa packages at GlowSpa. Book now.",
        "Your cart is waiting! Complete your purchase in the next hour and get {pct}% off.",
        "Happy National Day! {pct}% off storewide with code {code}.",
        "Save big: buy 2 {product}, get the 3rd free. Offer ends {day}.",
        "Upgrade to premium now and get your first month free.",
        "Deal of the day: {product} at {amount} SAR only, order now before it's gone!",
    ]),
    ("promotion", "en", True, [
        "Your order #{order} was delivered 🎉 use code {code} for {pct}% off this weekend only.",
        "Thanks for your payment of {amount} SAR! Next time, use {code} and save {pct}% on any item.",
        "Invoice #{order} attached. P.S. our annual sale starts {day}, {pct}% off everything.",
        "Your refund is processed. Come back and enjoy {pct}% off with code {code} until {day}!",
        "We miss you, {name}! It's been a while — here's {pct}% off your next visit.",
        "It's been 30 days since your last visit. Come back this week and your next coffee is on us.",
        "Psst… the {product} you looked at is almost gone. Grab it before {day}.",
        "Only a few hours left — the prices you saw yesterday end at midnight.",
        "Your appointment is confirmed for {day}. While you're here, all facials are {pct}% off this week!",
        "Tracking number {order} shipped. Add any item before {day} and get free shipping plus {pct}% off.",
    ]),
    ("marketing", "en", False, [
        "Introducing the all-new {product} collection at {shop}. Visit us today!",
        "We just opened our new branch in {city}! Come and see us.",
        "Discover {shop}'s new menu: 12 new dishes you'll love. See you soon!",
        "Download the {shop} app and get exclusive deals every week.",
        "Check out our latest arrivals: {product} in every colour. Tap the link to browse.",
        "Subscribe to our newsletter for tips, offers and new products.",
        "{shop} is now delivering to {city}! Order your favourites in minutes.",
        "New season, new look ✨ Our {product} range has landed in store.",
        "Follow us on Instagram @{shop} for giveaways and the latest news.",
        "Meet the new {product} — smarter, lighter, better. Available now at {shop}.",
        "Refer a friend to {shop} and you both get {amount} SAR credit!",
        "Invite 3 friends and unlock a free month of premium.",
        "Our loyalty programme just got better — join today and start earning points.",
        "Don't forget to rate us 5 stars and tell your friends about {shop}!",
    ]),
    ("marketing", "en", True, [
        "Hey {name}, the {product} you loved are back in your size. Thought you'd want to know!",
        "It's been a while, {name}. We've saved your favourite table for whenever you're ready.",
        "Know someone who'd love {shop}? Share your personal link and we'll thank you both.",
        "Your friends are already here. Bring them along next time, the more the merrier!",
        "We've been busy behind the scenes — come see what's new at {shop} {city}.",
        "Thinking of a weekend getaway, {name}? Our team has put together some ideas for you.",
        "We noticed you haven't used the app lately. A lot has changed — take a look!",
        "Your next adventure starts here. {shop} — where {city} goes to relax.",
    ]),
    ("cold_outreach", "en", False, [
        "Hi, I'm {name} from {shop}. We help businesses like yours cut costs by 30%. Can we schedule a call?",
        "Hello! We are a digital marketing agency in {city}. Would you be interested in growing your sales?",
        "Dear business owner, we supply {product} at wholesale prices. Reply for our catalogue.",
        "Good morning, we offer SEO and social media management packages. Interested in a free consultation?",
        "Hi, are you the person in charge of procurement? We'd like to introduce our services.",
        "We build websites and apps for small businesses. Let me know if you'd like a quote!",
        "Hello, I came across your company online and would love to pitch our CRM solution.",
        "Looking for reliable cleaning staff? We provide trained workers at competitive rates. Contact us.",
    ]),
    ("cold_outreach", "en", True, [
        "Hi {name}, a colleague mentioned you're opening a second branch. We fitted out three cafés in {city} last year — happy to share what worked.",
        "Hello, hope you're well. I noticed your team is hiring drivers; we handle fleet insurance for similar companies. Would {day} suit for a short chat?",
        "Hi there, I'm reaching out because we work with several clinics in {city} on patient scheduling. Who would be the right person to talk to?",
        "Dear {name}, I'm the regional manager at {shop} and would welcome the chance to introduce ourselves to your procurement team.",
        "Salam {name}, a mutual friend gave me your number. We produce corporate gifts and I'd love to show you some samples.",
        "Hi, sorry for the unsolicited message. We are a logistics startup and think we could help your deliveries in {city}.",
        "Good afternoon. I lead partnerships at a payments company; your shop came up in our research. Open to a 15 minute call?",
        "Hi {name}, we've worked with businesses similar to yours and I believe we could add real value. May I send over a short deck?",
        "Hello, I'm putting together a list of suppliers in {city} and wondered if you'd consider working with us.",
        "Hi {name}, congratulations on the new office! We'd be glad to look after your IT setup if you're still choosing a provider.",
    ]),
    ("bulk_campaign", "en", False, [
        "Forward this message to all your contacts right now!",
        "Please share this with every WhatsApp group you are in.",
        "Send this to 10 friends and you'll receive good news tomorrow.",
        "Broadcast to everyone in your phonebook: our grand opening is {day}!",
        "Copy and paste this message to all your groups so everyone knows.",
        "Share this with 20 people today or you will have bad luck for a year.",
        "Spread the word! Forward to everyone you know before midnight.",
    ]),
    ("bulk_campaign", "en", True, [
        "Make sure every family in the neighbourhood sees this before Friday — pass it on.",
        "Don't keep this to yourself. Everyone in your contact list needs to read it.",
        "If you care about your friends, you'll send this on. It only takes a second.",
        "Please pass this to as many people as possible, it is very important.",
        "Post this in your family group and ask them to do the same.",
    ]),
    ("political", "en", False, [
        "Vote for {cand} in the municipal elections on {day}!",
        "Support {cand} for the city council — together for a better {city}.",
        "Election day is {day}. Cast your vote for {cand}, list number 4!",
        "Join our campaign rally for {cand} this {day} at 7 PM.",
        "Sign the petition against the new parliament law today.",
        "Our candidate {cand} will fight for you. Give him your vote.",
        "Donate to the {cand} campaign and help us win the chamber elections.",
    ]),
    ("political", "en", True, [
        "Polls close at 8 tonight. Make sure your whole family is heard — we are counting on you.",
        "Tomorrow decides the next four years of {city}. Be there early, bring your neighbours.",
        "{cand} has stood by our district for ten years. Thursday is the day to stand by {cand}.",
        "Your voice matters on {day}. Don't let others choose for you.",
        "The council seat is too close to call. Every household that shows up makes the difference.",
        "Remember who fixed the roads in our neighbourhood. Show it on {day}.",
    ]),
    ("scam_phishing", "en", False, [
        "Your bank account has been suspended. Verify your details at {link} within 24 hours.",
        "Congratulations! You have won {amount},000 SAR. Claim your prize at {link}.",
        "Your parcel is on hold due to an unpaid customs fee of 12.50 SAR. Pay now: {link}",
        "URGENT: your WhatsApp will be deactivated. Send us the 6-digit code you just received.",
        "Earn 500 SAR per day from home! No experience needed. Contact us on {link}.",
        "Invest 1000 USDT today and get 30% weekly returns guaranteed. DM me for the signal group.",
        "Your Apple ID was locked. Confirm your card details here: {link}",
        "Dear customer, your card is blocked. Call 0500000000 and provide your PIN to unlock it.",
        "You have been selected for a free iPhone 16! Pay only the delivery fee at {link}.",
        "Crypto tip of the week: this coin will 10x before Friday. Buy now before it's too late!",
    ]),
    ("scam_phishing", "en", True, [
        "Hi mum, I dropped my phone in water. This is my new number. Can you send me 2,000 for a bill?",
        "Hi {name}, this is HR. Please confirm your salary account by replying with your card number and expiry date.",
        "We tried to deliver your package today. Reschedule here {link} to avoid it being returned.",
        "Your account shows unusual activity. Reply with the code we sent to keep access.",
        "I'm a trader with a licensed team. Our members doubled their savings last month, I can add you to the group.",
        "Hello dear, I found your number in my contacts. I manage a fund and would like to help you earn extra income.",
        "Your electricity will be disconnected tonight unless the outstanding balance is settled at {link}.",
        "Hi {name}, I'm stuck abroad and my cards aren't working. Could you transfer something until Monday?",
    ]),
    ("gambling", "en", False, [
        "Bet on {team} tonight! Odds 2.10, place your bet now at {link}.",
        "Get 100 free spins on your first deposit at Lucky Star Casino!",
        "Online casino bonus: deposit 100, play with 300. Sign up today!",
        "Weekend accumulator tips: 5 games, 40x payout. Join our betting channel.",
        "Play poker, roulette and slots 24/7. 200% welcome bonus at {link}.",
        "Jackpot alert! {amount},000 SAR lottery draw tonight, buy your ticket now.",
        "Sure odds for {team} vs Al Ahli. Bet 50 and win 500!",
    ]),
    ("gambling", "en", True, [
        "Tonight's big match: {team} at 2.10, draw 3.40. Your slip is one tap away.",
        "Feeling lucky, {name}? The wheel is spinning and your first round is on the house.",
        "Our VIP members cashed out {amount},000 last weekend. Ready to join the table?",
        "Predict the score of {team}'s next game and turn 100 into 1,000.",
        "New tables just opened, minimum stake 10. See you at the tables tonight.",
    ]),
    ("cold_outreach", "ar", True, [
        "السلام عليكم، تواصلت معكم لأننا نعمل مع عدد من العيادات في {acity} في تنظيم المواعيد، من الشخص المناسب للحديث معه؟",
        "أستاذ {aname}، أنا المدير الإقليمي لشركة {ashop} ويسعدني أن نتعرف على فريق المشتريات لديكم.",
        "مرحباً، أعتذر عن الرسالة المفاجئة. لاحظت أنكم توظفون سائقين، ونحن نتولى تأمين الأساطيل لشركات مشابهة. هل يناسبكم اتصال قصير؟",
        "أهلاً {aname}، عملنا مع منشآت مشابهة لمنشأتكم ونعتقد أننا نستطيع إضافة قيمة حقيقية، هل أرسل لك عرضاً مختصراً؟",
    ]),
    ("scam_phishing", "ar", True, [
        "عزيزي {aname}، معك إدارة الحسابات. يرجى تأكيد حساب الراتب بإرسال رقم البطاقة وتاريخ انتهائها.",
        "أهلاً، وجدت رقمك بين جهات اتصالي. أدير محفظة استثمارية وأستطيع مساعدتك في تحقيق دخل إضافي.",
        "سيتم فصل الكهرباء عن منزلك الليلة ما لم يتم سداد المبلغ المتأخر عبر {link}.",
        "لاحظنا نشاطاً غير معتاد في حسابك، أرسل الرمز المرسل إليك للإبقاء على الحساب فعالاً.",
    ]),
    ("political", "ar", True, [
        "تُغلق صناديق الاقتراع الساعة الثامنة الليلة، تأكد أن عائلتك كلها قالت كلمتها.",
        "غداً يتحدد مستقبل {acity} لأربع سنوات، كن هناك مبكراً واصطحب جيرانك.",
        "صوتك مهم يوم {aday}، لا تدع غيرك يقرر عنك.",
    ]),
    ("gambling", "ar", True, [
        "أعضاؤنا المميزون سحبوا {amount} ألف ريال نهاية الأسبوع الماضي، جاهز تنضم للطاولة؟",
        "الطاولات الجديدة مفتوحة الآن، والحد الأدنى للرهان ١٠ ريال. نراك الليلة.",
    ]),
    ("marketing", "ar", True, [
        "مر وقت طويل يا {aname}، حجزنا طاولتك المفضلة متى ما كنت جاهزاً.",
        "نعمل بصمت منذ أشهر، وحان الوقت لتكتشف الجديد في {ashop} بفرع {acity}.",
        "تفكر في عطلة نهاية الأسبوع؟ جهّز فريقنا بعض الأفكار خصيصاً لك.",
    ]),
    ("bulk_campaign", "ar", True, [
        "لا تحتفظ بها لنفسك، يجب أن يقرأها كل من في قائمة اتصالك.",
        "إذا كنت تحب أصدقاءك فسترسلها لهم، لن تأخذ منك ثانية.",
    ]),
    ("scam_phishing", "arabizi", True, [
        "hala yumma, hada ra2mi el jdeed, jawali 5arab, t2dareen t7awleen li alfen?",
        "ana mutadawel mo3tamad, a3da2 el group da3afo flooshom el shahr el madi, adefak?",
    ]),
    ("cold_outreach", "en", True, [
        "Hi {name}, I hope this finds you well. Our team has helped restaurants in {city} reduce food waste; would it be worth a conversation?",
        "Good morning {name}, I'd value ten minutes of your time next week to understand how your team handles payroll today.",
    ]),
    ("political", "en", True, [
        "They said our street didn't matter. On {day}, let's show them it does. Bring everyone you know.",
    ]),
    # Arabic (MSA and Gulf)
    ("promotion", "ar", False, [
        "تخفيضات الصيف بدأت! خصم {pct}٪ على كل {aproduct}، تسوق الآن",
        "عرض خاص لفترة محدودة: اشترِ قطعة واحصل على الثانية مجاناً في {ashop}.",
        "استخدم كود {code} واحصل على خصم {pct}٪ على طلبك القادم حتى يوم {aday}.",
        "لا تفوّت الفرصة! خصومات تصل إلى {pct}٪ على {aproduct} لمدة ثلاثة أيام فقط.",
        "عروض رمضان في {ashop}: خصم {pct}٪ على جميع المنتجات طوال الشهر.",
        "الجمعة البيضاء وصلت 🔥 وفّر حتى {pct}٪ على {aproduct}.",
        "اشترك الآن واحصل على أول شهر مجاناً!",
        "تخفيضات نهاية الموسم على {aproduct}، الكمية محدودة، اطلب الآن.",
        "بمناسبة اليوم الوطني خصم {pct}٪ على كل شيء بكود {code}.",
        "أسعار خيالية! {aproduct} تبدأ من {amount} ريال فقط لفترة محدودة.",
        "العرض الأقوى هذا الشهر: اشترِ ٢ والثالث هدية في جميع فروعنا.",
        "آخر فرصة! ينتهي عرض الخصم الليلة الساعة ١٢.",
    ]),
    ("promotion", "ar", True, [
        "تم توصيل طلبك رقم {order} 🎉 استخدم كود {code} لخصم {pct}٪ هذا الأسبوع فقط.",
        "شكراً لدفعك فاتورة رقم {order}. لا تنسَ أن التخفيضات الكبرى تبدأ يوم {aday}!",
        "تم استرداد المبلغ إلى بطاقتك، وننتظرك مجدداً مع خصم {pct}٪ على طلبك القادم.",
        "اشتقنا لك يا {aname}! مر علينا هالأسبوع وخصمك {pct}٪ جاهز.",
        "تم تأكيد موعدك يوم {aday}. بالمناسبة، جلسات التنظيف بنصف السعر هذا الأسبوع!",
        "سلتك لسه تنتظرك، كمّل طلبك اليوم قبل لا تنتهي الكمية.",
    ]),
    ("promotion", "ar-gulf", False, [
        "يا هلا! عيدكم علينا 🎁 كل مشترياتك بخصم {pct}٪ من الجوال.",
        "القهوة الثانية علينا اليوم بس في {ashop}! لا يفوتك.",
        "توصيلك ببلاش على أي طلب فوق {amount} ريال، اطلب الحين.",
        "عرض ما يتفوت! {aproduct} بنص السعر لين الخميس.",
        "حياكم في {ashop}، كل شي بـ {amount} ريال والكمية محدودة.",
        "الحق على العرض قبل يخلص، خصم {pct}٪ على {aproduct} اليوم بس.",
        "جيب ربعك وكل واحد ياخذ الثاني ببلاش 😍",
        "تبي تجدد سيارتك؟ غسيل وتلميع بـ {amount} ريال بس هالأسبوع.",
    ]),
    ("promotion", "ar-gulf", True, [
        "نفتقدك يا {aname}! صار لك فترة ما مريتنا، والقهوة علينا أول ما توصل.",
        "وينك يا {aname}؟ اشتقنا لك، تعال هالويكند وبنضبطك.",
        "طلبك رقم {order} وصل 🎉 وعلى فكرة الطلب الجاي علينا لين نهاية الأسبوع.",
        "باقي ساعات بس وترجع الأسعار مثل ما كانت، لا تقول ما قلت لك.",
    ]),
    ("marketing", "ar", False, [
        "افتتحنا فرعنا الجديد في {acity}! حياكم الله.",
        "تعرّف على تشكيلة {aproduct} الجديدة في {ashop}، متوفرة الآن.",
        "حمّل تطبيق {ashop} واستمتع بعروض حصرية كل أسبوع.",
        "تابعونا على انستقرام لمعرفة آخر المنتجات والمسابقات.",
        "ادعُ صديقاً واحصل أنت وهو على رصيد {amount} ريال.",
        "انضم إلى برنامج الولاء لدينا واكسب نقاطاً على كل ريال تصرفه.",
        "قائمة طعام جديدة في {ashop}! أطباق جديدة بانتظارك.",
        "{ashop} الآن يوصل إلى {acity}، اطلب من التطبيق.",
        "تطبيقنا صار أسرع وأسهل! نزّله واطلب وجبتك المفضلة بضغطة زر.",
        "اشترك في نشرتنا البريدية لتصلك أحدث العروض والمنتجات.",
    ]),
    ("marketing", "ar-gulf", True, [
        "هلا {aname}، {aproduct} اللي عجبتك رجعت بمقاسك، قلنا نعلمك 😉",
        "عندك ربع يحبون القهوة؟ عطهم رابطك وكلكم تستفيدون.",
        "صار عندنا أشياء جديدة وايد، مر علينا وشوف بنفسك.",
        "لاحظنا إنك ما فتحت التطبيق من زمان، تغير فيه أشياء كثير، طل عليه.",
        "شاركنا رأيك وقيّمنا خمس نجوم وخبر أهلك وربعك عنا.",
    ]),
    ("cold_outreach", "ar", False, [
        "مرحباً، معك {aname} من شركة آفاق للاستشارات. نقدم دراسات جدوى للمشاريع، هل تسمح لي بدقيقتين؟",
        "السلام عليكم، نحن وكالة تسويق رقمي في {acity}، هل ترغبون بزيادة مبيعاتكم؟",
        "نوفر لكم {aproduct} بأسعار الجملة، راسلونا لطلب الكتالوج.",
        "عزيزي صاحب المنشأة، نقدم خدمات تصميم المواقع والمتاجر الإلكترونية بأسعار منافسة.",
        "نوفر عمالة منزلية بأسعار مناسبة وبضمان كامل، للتواصل واتساب.",
        "أهلاً، أنا مندوب مبيعات في شركة النخبة للمعدات الطبية ونرغب بعرض منتجاتنا عليكم.",
        "نقدم خدمات المحاسبة والزكاة للمنشآت الصغيرة، هل تودون استشارة مجانية؟",
    ]),
    ("cold_outreach", "ar-gulf", True, [
        "السلام عليكم {aname}، أحد الزملاء قال إنكم بتفتحون فرع ثاني في {acity}، حنا مسوين تجهيز لثلاث كافيهات هناك ونحب نفيدكم.",
        "هلا والله، أعتذر على الإزعاج، حصلت رقمكم من صديق مشترك، عندنا شي ممكن يفيد شغلكم، متى يناسبك نتكلم؟",
        "مساء الخير، مين المسؤول عندكم عن المشتريات؟ ودنا نعرفهم على شركتنا.",
        "مرحبا أخوي، شفت مشروعكم في السناب وعجبني، ودي أعرض عليك فكرة تعاون.",
        "السلام عليكم، حنا شركة ناشئة في التوصيل ونشوف إننا نقدر نخدمكم في {acity}، وش رايك نجتمع {aday}؟",
        "أهلين {aname}، ألف مبروك على المكتب الجديد! إذا لسا ما اخترتوا مزود للشبكات ودنا نخدمكم.",
    ]),
    ("bulk_campaign", "ar", False, [
        "أرسل هذه الرسالة لكل جهات الاتصال عندك.",
        "انشر هذه الرسالة في جروبات العائلة ليعرف الجميع.",
        "أرسلها لعشرة أشخاص وستسمع خبراً سعيداً.",
        "شارك هذه الرسالة مع كل من تعرف قبل منتصف الليل.",
        "انسخ الرسالة وأرسلها لكل القروبات عندك.",
    ]),
    ("bulk_campaign", "ar-gulf", True, [
        "لا توقف عندك، خلها توصل لكل أهلك وربعك.",
        "الله يجزاك خير حطها في كل القروبات اللي عندك.",
        "أمانة في رقبتك توصلها لأكبر عدد من الناس.",
        "عممها على الكل لا تنساها عندك.",
    ]),
    ("political", "ar", False, [
        "صوتوا لـ {acand} في انتخابات المجلس البلدي يوم {aday}.",
        "ادعم مرشحك {acand} لعضوية المجلس، معاً من أجل {acity} أفضل.",
        "يوم الانتخاب {aday}، أعط صوتك للقائمة رقم 4.",
        "انضموا إلى التجمع الانتخابي لـ {acand} مساء {aday}.",
        "وقّع على العريضة ضد قانون مجلس الأمة الجديد.",
        "تبرع لحملة {acand} الانتخابية وساعدنا على الفوز.",
    ]),
    ("political", "ar-gulf", True, [
        "صوتك أمانة، لا تخلي غيرك يختار عنك {aday}.",
        "{acand} وقف معنا عشر سنين، {aday} يومنا نوقف معه.",
        "بكرة يتحدد مستقبل ديرتنا، بكّر وجيب جيرانك معك.",
        "كل بيت يحضر يفرق، المقعد متقارب ولا نبي نخسره.",
        "تذكروا مين صلّح شوارع حينا، ووروها له {aday}.",
    ]),
    ("scam_phishing", "ar", False, [
        "تم إيقاف حسابك البنكي، يرجى تحديث بياناتك عبر الرابط {link} خلال 24 ساعة.",
        "مبروك! لقد ربحت {amount} ألف ريال، استلم جائزتك من خلال الرابط {link}.",
        "شحنتك معلقة بسبب رسوم جمركية غير مدفوعة 12 ريال، ادفع الآن: {link}",
        "عاجل: سيتم إيقاف واتساب الخاص بك، أرسل لنا رمز التحقق الذي وصلك.",
        "اربح 500 ريال يومياً من البيت بدون خبرة! تواصل معنا على {link}.",
        "استثمر 1000 دولار واحصل على أرباح 30٪ أسبوعياً مضمونة.",
        "عميلنا العزيز، تم حظر بطاقتك. يرجى إرسال الرقم السري لإعادة التفعيل.",
        "تم اختيارك للفوز بجوال آيفون مجاناً! ادفع رسوم التوصيل فقط عبر {link}.",
    ]),
    ("scam_phishing", "ar-gulf", True, [
        "هلا يمه، هذا رقمي الجديد جوالي خرب، تقدرين تحولين لي ألفين ضروري؟",
        "معك قسم الموارد البشرية، أرسل لي رقم بطاقتك وتاريخ الانتهاء عشان نثبت الراتب.",
        "أنا متداول معتمد، أعضاء قروبنا ضاعفوا فلوسهم الشهر اللي راح، أضيفك؟",
        "حسابك فيه نشاط غريب، أرسل لي الكود اللي وصلك عشان ما يتقفل.",
        "أخوي أنا عالق برا ونسيت محفظتي، حول لي أي مبلغ لين يوم الاثنين.",
        "حاولنا نوصل طردك اليوم، حدد موعد جديد من هنا {link} قبل يرجع.",
    ]),
    ("gambling", "ar", False, [
        "راهن على {team} الليلة واربح أضعاف رهانك، سجل الآن عبر {link}.",
        "احصل على ١٠٠ لفة مجانية عند أول إيداع في كازينو النجمة.",
        "مكافأة ترحيبية ٢٠٠٪ على الإيداع الأول، العب البوكر والروليت الآن.",
        "سحب اليانصيب الليلة على {amount} ألف ريال، اشترِ تذكرتك الآن.",
        "توقعات مضمونة لمباريات الأسبوع، انضم لقناة المراهنات.",
    ]),
    ("gambling", "ar-gulf", True, [
        "مباراة الليلة {team} بـ 2.10 والتعادل 3.40، قسيمتك جاهزة بضغطة.",
        "حاس إنك محظوظ اليوم؟ العجلة تدور وأول جولة علينا.",
        "توقع نتيجة مباراة {team} وحوّل المية لألف.",
        "طاولات جديدة انفتحت، أقل مبلغ 10، نشوفك الليلة.",
    ]),
    # Mixed English/Arabic
    ("promotion", "mixed", False, [
        "Flash sale 🔥 خصم {pct}% على كل شي، use code {code} الحين!",
        "عرض الويكند: buy 1 get 1 free على {aproduct} في {shop}",
        "Last chance يا {aname}! الخصم {pct}% ينتهي tonight.",
        "طلبك #{order} delivered ✅ وخذ {pct}% off على الطلب الجاي بكود {code}",
    ]),
    ("marketing", "mixed", False, [
        "New branch opening في {acity} 🎉 حياكم this weekend!",
        "Download our app وخذ عروض exclusive كل أسبوع.",
        "Invite your friends وكل واحد ياخذ {amount} ريال credit.",
    ]),
    ("cold_outreach", "mixed", False, [
        "Hi {name}، معك {aname} from a marketing agency، ودنا نساعدكم تزيدون sales.",
        "Hello, نقدم web design و SEO services للمتاجر، interested?",
        "Dear owner, we supply {product} بأسعار الجملة، reply for catalogue.",
    ]),
    ("bulk_campaign", "mixed", False, [
        "Forward this لكل القروبات please!",
        "شاركها مع everyone in your contacts قبل midnight.",
    ]),
    ("political", "mixed", False, [
        "Vote for {acand} يوم {aday}، صوتك يفرق!",
        "Election day بكرة، support {cand} للمجلس البلدي.",
    ]),
    ("scam_phishing", "mixed", False, [
        "Your account suspended، حدث بياناتك here {link} خلال 24h.",
        "Congratulations! ربحت iPhone 16، claim it من {link}.",
        "Investment فرصة: 30% weekly profit مضمون، DM me.",
    ]),
    ("gambling", "mixed", False, [
        "Bet now على {team} الليلة، odds 2.5 🔥 {link}",
        "Free spins لأول deposit في casino {link}",
    ]),
    # Arabizi
    ("promotion", "arabizi", False, [
        "5asm {pct}% 3ala kol el {product} el yom bas! el7a2 3al 3ard",
        "3ard 5ass: eshtri wa7ed w 5od el tani balash fi {shop}",
        "el tanzilat bada2at! ta5fidat la {pct}% 3ala kol shi",
        "ista5dem code {code} w 5od {pct}% 5asm 3ala talabak el jay",
        "la tfawet el forsa, el 3ard yentehi el lela",
    ]),
    ("promotion", "arabizi", True, [
        "wa7ashtna ya {zname}! sarlak zaman ma zortna, el gahwa 3alena",
        "talabak wesel 🎉 w el talab el jay 3alena la5er el esbou3",
    ]),
    ("marketing", "arabizi", False, [
        "fata7na far3 jdeed fi {city}! 7ayakom",
        "nazel el app w estamte3 b 3roodh 7asriya kol esbou3",
        "3azem 7abaybak w kol wa7ed ya5od {amount} riyal rased",
    ]),
    ("cold_outreach", "arabizi", False, [
        "marhaba, ma3ak {zname} men sharikat taswee2, bidna nsa3dak tzeed mabee3atak",
        "salam, n2adem 5adamat tasmeem mawa2e3 b as3ar monafesa, mohtam?",
        "hala {zname}, wa7ed men el zomala2 2al enkom btefta7o far3 tani, 7abeen nsa3dkom",
    ]),
    ("bulk_campaign", "arabizi", False, [
        "ersel hal resala la kol el groups 3andak",
        "sharekha ma3 kol el nas ele t3rfhom 2abl nos el lel",
    ]),
    ("political", "arabizi", False, [
        "sawto la {cand} fi el entekhabat yom el 5amees",
        "sawtak amana, la t5alli 7ada ye5tar 3annak bokra",
    ]),
    ("scam_phishing", "arabizi", False, [
        "mabrook! rba7t {amount} alf riyal, estalem el ja2eza men {link}",
        "7esabak mawgoof, 7adeth byanatak men hon {link}",
        "ersel li el code ele wasalak 3ashan ma yetsakkar el 7esab",
    ]),
    ("gambling", "arabizi", False, [
        "rahen 3ala {team} el lela w erba7 ad3af, {link}",
        "100 free spins awel eda3 fi el casino, sajel hala2",
    ]),
]

# --- allowed --------------------------------------------------------------

ALLOW = [
    ("order", "en", False, [
        "Your order #{order} has been confirmed. Total: {amount} SAR. We'll notify you when it ships.",
        "Order {order} is ready for pickup at {shop}, {city}. Please bring your ID.",
        "We received your order #{order} and it is being prepared.",
        "Your order #{order} was cancelled as requested. No charge was made.",
        "Hi {name}, your table for 4 at {shop} is confirmed for {day} at {time}.",
        "Your car rental is extended until {day}. The new total is {amount} SAR including insurance.",
    ]),
    ("order", "en", True, [
        "Your order #{order} with {pct}% discount has been packed and will ship today.",
        "Good news: the promo code {code} was applied to order #{order}. Your new total is {amount} SAR.",
        "Order #{order}: the free gift that came with your purchase is out of stock, so we refunded {amount} SAR.",
        "Your pre-order of the {product} is confirmed. We will charge your card when it ships.",
        "Your sale price of {amount} SAR is locked for order #{order} even though the offer has ended.",
        "Your Black Friday order #{order} is delayed by two days because of high volume. Sorry for the wait.",
    ]),
    ("shipping", "en", False, [
        "Your shipment #{order} is out for delivery in {city} today.",
        "Your parcel has been delivered to the front door at {time}.",
        "Your courier could not deliver today. We'll try again {day} between 10am and 1pm.",
        "Tracking number {order}: your package has left our warehouse in {city}.",
        "Your parcel is at the smart locker on Tahlia Street. Use code {otp} to open it.",
    ]),
    ("shipping", "en", True, [
        "Customs clearance for shipment {order} is complete; delivery is expected {day}.",
        "Your free replacement {product} has shipped, tracking {order}.",
        "The clearance paperwork for your import is done. The driver will call you before arriving.",
        "Your bulk order of 40 {product} will arrive on two pallets {day}.",
    ]),
    ("otp", "en", False, [
        "Your verification code is {otp}. It expires in 5 minutes.",
        "Your one-time password is {otp}. Do not share it with anyone.",
        "{otp} is your login code for {shop}. We will never ask you for it.",
        "Use {otp} to reset your password. If you didn't request this, ignore this message.",
    ]),
    ("otp", "en", True, [
        "Your OTP is {otp}. This purchase earns you 50 bonus points.",
        "Code {otp} confirms your payment of {amount} SAR. Your cashback will appear in 3 days.",
        "Your code to redeem your free coffee is {otp}. Show it to the barista.",
    ]),
    ("appointment", "en", False, [
        "Reminder: your appointment at {shop} is {day} at {time}.",
        "Hi {name}, your dental cleaning is {day} at {time}. Reply C to confirm or R to reschedule.",
        "Your vehicle service is booked for {day} at {time} at our {city} centre.",
        "Your appointment has been cancelled at your request. You can book again in the app.",
        "The technician will visit {day} between 8 and 10 AM to install the AC.",
    ]),
    ("billing", "en", False, [
        "Invoice #{order} for {amount} SAR is attached. Due in 30 days.",
        "We've received your payment of {amount} SAR. Your balance is now 0.",
        "Your bill of {amount} SAR is due on {day}. Pay in the app to avoid late fees.",
        "Payment failed for your subscription. Please update your card in settings.",
        "Your monthly statement is ready. Amount due: {amount} SAR.",
    ]),
    ("billing", "en", True, [
        "Discount applied to your invoice: 5% early payment credit.",
        "Your premium plan will be downgraded on the 1st because the payment failed.",
        "Your annual plan renews on {day} at the offer price you signed up with, {amount} SAR.",
        "Reminder: your free trial ends {day}. You will be charged {amount} SAR unless you cancel.",
        "Your loyalty statement: 1,240 points available, 200 of them expire at the end of the month.",
        "Your cashback of {amount} SAR from last month's purchases has been credited to your wallet.",
    ]),
    ("refund", "en", False, [
        "Your refund of {amount} SAR has been sent to your original card.",
        "We have processed your return for order #{order}. The refund takes 5-7 days.",
        "Your cashback request was rejected because the receipt date is outside the eligible period.",
    ]),
    ("support", "en", False, [
        "Support: we have escalated your ticket #{order} to our engineers.",
        "Thanks for contacting {shop}. An agent will reply within 2 hours.",
        "We received your complaint about the missing item and will deliver it free of charge {day}.",
        "Your ticket #{order} is resolved. Reply to this message if the problem comes back.",
        "As you asked, here are the opening hours for our {city} branch: 9 AM to 11 PM daily.",
        "Hi {name}, following up on your call: the spare part arrives {day} and we'll call to book fitting.",
    ]),
    ("support", "en", True, [
        "As requested, here is the price list for the {product} you asked about. Let us know if you have questions.",
        "Thanks for asking about the offer you saw: it applies to orders placed before {day}, and yours qualifies.",
        "You asked whether your voucher still works: yes, it is valid until 30 June.",
        "Following your enquiry, a sales engineer will call you {day} at {time} to discuss the quote.",
        "Your complaint about the promotion not being applied has been fixed; {amount} SAR was refunded.",
    ]),
    ("internal", "en", False, [
        "All staff: the fire drill is at {time} today, use stairway B.",
        "Team, the weekly meeting has moved to {day} at {time}.",
        "Reminder: submit your timesheets by {day} noon.",
        "IT notice: the VPN will be down for maintenance tonight from 11 PM to 1 AM.",
        "Shift change: {name} will cover the evening shift at the {city} branch on {day}.",
    ]),
    ("internal", "en", True, [
        "Hi {name}, your offer letter for the Senior Accountant role is attached. Please sign by {day}.",
        "Hi {name}, the promotion letter for your new role is ready — please collect it from HR.",
        "Team, the new product launch meeting has moved to {time}. Please bring the campaign mockups.",
        "Reminder: the marketing campaign approval form must be signed by {day}.",
        "Please vote in the staff survey for the team outing location by {day}.",
        "Congratulations {name}, you were chosen employee of the month! Your bonus will be in this month's salary.",
        "Sales team: the quarterly targets and commission sheet are on the shared drive.",
        "Reminder to branch managers: remove the expired sale banners from the windows by {day}.",
    ]),
    ("notice", "en", False, [
        "Your electricity service will be interrupted on {day} from 9am to 12pm for maintenance.",
        "Dear parent, school will close early on {day} at 11:30.",
        "Our {city} branch will be closed on {day} for renovation.",
        "Water supply in your building will be off {day} from 10 to 2 for repairs.",
    ]),
    ("notice", "en", True, [
        "Election day: our office is closed. We reopen on {day}.",
        "Due to the match tonight, roads near the stadium are closed; your delivery may be late.",
        "The sale agreement for your apartment is ready for signature at our office.",
        "Your spa voucher (bought on 3 May) is attached and valid until 30 June. Show it at reception.",
        "Your raffle ticket from the school charity fair is number 118; the draw is at the fair on {day}.",
        "Polling stations in the school hall mean pickup will be from gate 2 on {day}.",
    ]),
    ("account", "en", False, [
        "Your password was changed successfully. If this wasn't you, contact support.",
        "Your subscription has been renewed until 30 June.",
        "Your account details were updated successfully.",
        "Great news — your loan application has been approved. An agent will call you to finalise the documents.",
        "Your gym membership expires on 30 June. Renew at reception or in the app.",
    ]),
    ("account", "en", True, [
        "New sign-in to your account from {city}. If this was you, no action needed. We will never ask for your code.",
        "Your withdrawal of 0.05 BTC to your external wallet has been processed.",
        "Your bank transfer of {amount} SAR to {name} was completed. Reference {order}.",
        "Your card ending 4412 was used for {amount} SAR at {shop}. Not you? Call the number on the back of your card.",
        "You have won the draw for a free upgrade on your booking {order}; no action needed, it is already applied.",
        "Your winnings from the office football prediction ({amount} SAR) were added to the team lunch fund.",
    ]),
    ("health", "en", False, [
        "Hi, this is {name} from Dr. Saleh's clinic. Your X-ray results are normal; no follow-up needed.",
        "Your prescription is ready for collection at {shop}.",
        "Your child's next vaccination is due in two weeks; please bring the vaccination card.",
    ]),
    # Arabic allowed
    ("order", "ar", False, [
        "تم تأكيد طلبك رقم {order} بمبلغ {amount} ريال، وسيتم الشحن خلال يومين.",
        "طلبك جاهز للاستلام من الفرع، يرجى إحضار رقم الطلب.",
        "تم إلغاء طلبك رقم {order} بناءً على طلبك ولم يتم خصم أي مبلغ.",
        "تم تأكيد حجزك في {ashop} يوم {aday} الساعة ٥ مساءً.",
    ]),
    ("order", "ar", True, [
        "تم شحن طلبك بخصم {pct}٪ وسيصلك {aday} في {acity}.",
        "تم تطبيق كود الخصم {code} على طلبك رقم {order}، والمبلغ الجديد {amount} ريال.",
        "الهدية المجانية مع طلبك نفدت، لذلك تم استرداد {amount} ريال إلى بطاقتك.",
        "طلبك من عروض الجمعة البيضاء رقم {order} سيتأخر يومين بسبب ضغط الطلبات، نعتذر.",
    ]),
    ("shipping", "ar", False, [
        "شحنتك رقم {order} مع المندوب وستصلك اليوم.",
        "تم شحن طلبك رقم {order} عبر أرامكس، ورقم التتبع {otp}.",
        "لم نتمكن من توصيل شحنتك اليوم، وسنحاول مرة أخرى {aday}.",
    ]),
    ("shipping", "ar", True, [
        "تم التخليص الجمركي لشحنتك رقم {order}، والتوصيل متوقع {aday}.",
        "تم شحن المنتج البديل مجاناً، ورقم التتبع {order}.",
    ]),
    ("otp", "ar", False, [
        "رمز التحقق لمرة واحدة: {otp}. لا تشاركه مع أحد.",
        "رمز الدخول الخاص بك هو {otp} وصالح لمدة ٥ دقائق.",
        "استخدم الرمز {otp} لإعادة تعيين كلمة المرور. إذا لم تطلب ذلك تجاهل الرسالة.",
    ]),
    ("otp", "ar", True, [
        "رمز التحقق {otp}. ستحصل على ٥٠ نقطة مكافأة مع هذه العملية.",
        "الرمز {otp} لاستلام قهوتك المجانية، أظهره للباريستا.",
    ]),
    ("appointment", "ar", False, [
        "تذكير: موعدك في عيادة الأسنان {aday} الساعة ٩:١٥ صباحاً.",
        "تم جدولة زيارة الفني لتركيب المكيف يوم {aday} بين ٨ و ١٠ صباحاً.",
        "تم إلغاء موعدك في العيادة بناءً على طلبك، ويمكنك حجز موعد جديد من التطبيق.",
        "موعد صيانة سيارتك {aday} الساعة ١٠ في مركز {acity}.",
    ]),
    ("billing", "ar", False, [
        "مرفق فاتورة رقم {order} بمبلغ {amount} ريال، تستحق خلال 30 يوماً.",
        "تم استلام دفعتك بمبلغ {amount} ريال، ورصيدك الآن صفر.",
        "فاتورتك بمبلغ {amount} ريال مستحقة يوم {aday}، ادفعها من التطبيق لتجنب الغرامة.",
        "تعذر خصم قيمة اشتراكك، يرجى تحديث بيانات البطاقة.",
    ]),
    ("billing", "ar", True, [
        "كشف نقاط الولاء: لديك ١٢٤٠ نقطة، وتنتهي صلاحية ٢٠٠ منها نهاية الشهر.",
        "تم إيداع الكاش باك بقيمة {amount} ريال في محفظتك.",
        "تم تطبيق خصم السداد المبكر ٥٪ على فاتورتك رقم {order}.",
        "تنتهي الفترة التجريبية المجانية {aday}، وسيتم خصم {amount} ريال ما لم تلغِ الاشتراك.",
    ]),
    ("refund", "ar", False, [
        "تم استرداد {amount} ريال إلى بطاقتك الأصلية.",
        "تم رفض طلب الاسترجاع لأن المنتج مستخدم، يمكنك التواصل معنا للاستفسار.",
        "تمت معالجة طلب الإرجاع للطلب رقم {order}، ويستغرق الاسترداد ٥ إلى ٧ أيام.",
    ]),
    ("support", "ar", False, [
        "الدعم الفني: تم تصعيد تذكرتك رقم {order} إلى فريق المهندسين.",
        "أهلاً {aname}، تم استلام طلب الصيانة وسيتم التواصل معك خلال ٢٤ ساعة.",
        "نعتذر عن التأخير في التوصيل، وتمت إضافة رسوم التوصيل كرصيد في محفظتك.",
        "كما طلبت، مواعيد عمل فرع {acity} من ٩ صباحاً حتى ١١ مساءً.",
    ]),
    ("support", "ar", True, [
        "بناءً على استفسارك، العرض الذي شاهدته يشمل الطلبات قبل {aday} وطلبك مشمول.",
        "سألت عن صلاحية القسيمة: نعم، صالحة حتى ٣٠ يونيو.",
        "كما طلبت، هذه قائمة أسعار {aproduct} التي سألت عنها، ونحن بالخدمة لأي استفسار.",
    ]),
    ("internal", "ar", False, [
        "إلى جميع الموظفين: تدريب الإخلاء الساعة 11 اليوم.",
        "الفريق: تم إطلاق النسخة الجديدة من النظام الداخلي، يرجى تحديث المتصفح.",
        "تذكير: تسليم كشوف الدوام قبل {aday} الظهر.",
        "تم تعديل جدول المناوبات، {aname} يغطي المساء في فرع {acity} يوم {aday}.",
    ]),
    ("internal", "ar", True, [
        "أهلاً {aname}، مرفق خطاب العرض الوظيفي لوظيفة محاسب أول، يرجى التوقيع قبل {aday}.",
        "تذكير: اجتماع لجنة الحملة التسويقية يوم {aday} الساعة ١٠ صباحاً.",
        "مرحباً، خصم الموظفين ١٠٪ يظهر في قسيمة راتبك لهذا الشهر.",
        "مبروك {aname}، تمت ترقيتك إلى مشرف فرع، وخطاب الترقية جاهز لدى الموارد البشرية.",
        "يرجى التصويت في استبيان الموظفين لاختيار مكان الرحلة قبل {aday}.",
    ]),
    ("notice", "ar", False, [
        "عزيزي العميل، سيتم انقطاع الخدمة مؤقتاً يوم {aday} من الساعة ١ إلى ٣ فجراً للصيانة.",
        "مدرسة الأندلس: تبدأ الاختبارات النهائية يوم {aday}، نتمنى التوفيق لأبنائنا.",
        "فرع {acity} مغلق يوم {aday} للتجديد.",
    ]),
    ("notice", "ar", True, [
        "يوم الانتخابات: الفرع مغلق، ونستقبلكم يوم {aday}.",
        "قسيمة السبا التي اشتريتها مرفقة وصالحة حتى ٣٠ يونيو، أظهرها في الاستقبال.",
        "عقد بيع الشقة جاهز للتوقيع في مكتبنا يوم {aday}.",
    ]),
    ("account", "ar", False, [
        "تم تفعيل باقتك الجديدة بنجاح، وتنتهي صلاحيتها في ٣٠ يونيو.",
        "عزيزي العميل، تم تحديث بيانات حسابك بنجاح.",
        "تم تحويل مبلغ {amount} ريال إلى حساب {aname} بنجاح.",
        "تم تغيير كلمة المرور، إذا لم تقم بذلك تواصل مع الدعم.",
    ]),
    ("account", "ar", True, [
        "تسجيل دخول جديد إلى حسابك من {acity}. إذا كان هذا أنت فلا حاجة لأي إجراء، ولن نطلب منك الرمز أبداً.",
        "تم تنفيذ سحب 0.05 بيتكوين إلى محفظتك الخارجية.",
        "استُخدمت بطاقتك المنتهية بـ 4412 بمبلغ {amount} ريال لدى {ashop}. لم تكن أنت؟ اتصل بالرقم خلف البطاقة.",
    ]),
    ("health", "ar", False, [
        "موعد تطعيم طفلك القادم بعد أسبوعين، يرجى إحضار بطاقة التطعيم.",
        "نتيجة تحاليلك جاهزة ويمكنك الاطلاع عليها من التطبيق.",
        "وصفتك الطبية جاهزة للاستلام من {ashop}.",
    ]),
    # Gulf colloquial allowed
    ("order", "ar-gulf", False, [
        "هلا {aname}، طلبك جاهز وتقدر تمر تاخذه الحين.",
        "طلبك رقم {order} طلع مع المندوب، بيوصلك خلال ساعة إن شاء الله.",
        "حجزك عندنا {aday} الساعة ٨ بالليل، نشوفك على خير.",
        "المندوب عند الباب، ياليت تنزل تستلم.",
    ]),
    ("support", "ar-gulf", False, [
        "أبشر {aname}، وصلتنا ملاحظتك وبنرد عليك اليوم.",
        "معليش على التأخير، الفني بيجيك بكرة الصبح.",
        "الجهاز حقك صار جاهز بعد الصيانة، تقدر تستلمه من الفرع.",
        "تم، غيرنا لك الموعد لـ {aday} مثل ما طلبت.",
    ]),
    ("support", "ar-gulf", True, [
        "سألتنا عن العرض: أي نعم يشمل طلبك، وخصمه انحسب في الفاتورة.",
        "الكوبون اللي عندك شغال لين آخر الشهر، استخدمه وقت ما تبي.",
        "القهوة المجانية اللي ربحتها في مسابقة الموظفين جاهزة لك عند الكاشير.",
    ]),
    ("internal", "ar-gulf", False, [
        "يا شباب الاجتماع انتقل لبكرة الساعة ١٠.",
        "{aname} بيغطي دوام الليل اليوم بدالي، الله يعافيه.",
        "تذكير للجميع: سلموا كشوفات الدوام قبل الخميس.",
    ]),
    ("internal", "ar-gulf", True, [
        "يا جماعة، بنرفع لوحات التخفيضات القديمة من الفرع قبل {aday}.",
        "مبروك يا {aname} الترقية! الخطاب عند الموارد البشرية.",
        "صوتوا في الاستبيان عن مكان طلعة الفريق قبل الخميس.",
    ]),
    ("notice", "ar-gulf", False, [
        "الموية بتنقطع عن العمارة بكرة من ١٠ الصبح لين ٢ الظهر.",
        "الفرع مسكر اليوم للجرد، نفتح بكرة عادي.",
    ]),
    # Mixed allowed
    ("order", "mixed", False, [
        "Order #{order} confirmed ✅ المبلغ {amount} ريال، delivery {aday}.",
        "Hi {aname}، your order is ready للاستلام من الفرع.",
        "طلبك #{order} out for delivery، the driver will call you.",
    ]),
    ("otp", "mixed", False, [
        "Your OTP is {otp}، لا تشاركه مع أحد.",
        "رمز التحقق {otp} for your login.",
    ]),
    ("appointment", "mixed", False, [
        "Reminder: موعدك {aday} at {time} في العيادة.",
        "Your booking مؤكد ليوم {aday}, see you!",
    ]),
    ("internal", "mixed", True, [
        "Team، the campaign review meeting انتقل لـ {aday} {time}.",
        "Offer letter حقك جاهز يا {aname}، please sign before {day}.",
    ]),
    ("billing", "mixed", True, [
        "Invoice #{order}: discount 5% applied، المبلغ الصافي {amount} ريال.",
        "Your refund {amount} SAR تم إيداعه في البطاقة.",
    ]),
    # Arabizi allowed
    ("order", "arabizi", False, [
        "hala {zname}, talabak jahez, t2dar tmor t5ido hala2",
        "talabak ra2m {order} tala3 ma3 el mandoob, byewsalak 5elal sa3a",
        "7ajzak 3ndna yom el 5amees el sa3a 8",
    ]),
    ("support", "arabizi", False, [
        "abshir {zname}, wesletna molaha'tak w bnrod 3alek el yom",
        "ma3lesh 3al ta25eer, el fanni byejik bokra el sob7",
        "el jehaz 7a22ak sar jahez ba3d el siyana",
    ]),
    ("otp", "arabizi", False, [
        "el code 7a22ak {otp}, la t3teh 7ada",
        "ramz el ta7a22o2 {otp}, sale7 la 5 da2ayeq",
    ]),
    ("internal", "arabizi", True, [
        "ya shabab el ejtima3 3an el 7amla el tasweeqiya ente2al la bokra",
        "mabrook ya {zname} 3al tar2iya, el 5etab 3nd el HR",
    ]),
    ("notice", "arabizi", False, [
        "el far3 msakkar el yom lel jard, nefta7 bokra 3adi",
        "el moya bt2ta3 3an el 3emara bokra men 10 la 2",
    ]),
]

# --- second batch (written after the first model, before any look at the
# held-out results beyond their totals; split like the rest) -------------

REFUSE += [
    ("political", "en", False, [
        "Stand with {cand} on {day}: a stronger voice for {city} in the council.",
        "Make your mark for {cand} at the ballot box this {day}.",
        "The {cand} campaign needs volunteers this weekend. Knock on doors with us!",
        "Re-elect {cand}: ten years of service, four more to finish the job.",
        "Join thousands at the march for the new labour bill on {day}.",
        "Say no to the new tax law. Call your MP today and demand a vote against it.",
        "{cand} for chamber of commerce board — experience you can trust. Ballot number 7.",
        "Registered to vote? Check your polling station and support {cand} on {day}.",
        "Our party's manifesto is out. Read it and back us at the elections.",
        "Every vote for {cand} is a vote for cleaner streets in {city}.",
    ]),
    ("political", "en", True, [
        "Don't sit this one out. Thursday, 8 to 8, the school hall. You know who to pick.",
        "We've done it before and we'll do it again — see you at the polling station.",
        "When you're in the booth tomorrow, remember who answered your calls.",
        "A new council is chosen this week. Our district deserves someone who lives here, like {cand}.",
        "Bring your ID, bring your family, and let's bring {cand} home.",
    ]),
    ("political", "ar", False, [
        "انتخبوا {acand} لعضوية المجلس البلدي، صوتكم يصنع الفرق.",
        "ساند {acand} يوم {aday} من أجل صوت أقوى لـ {acand} في المجلس.",
        "أعيدوا انتخاب {acand} لمواصلة الإنجازات في {acity}.",
        "حملة {acand} الانتخابية تحتاج متطوعين نهاية الأسبوع، انضم إلينا.",
        "شارك في المسيرة الداعمة لمشروع القانون الجديد يوم {aday}.",
        "برنامجنا الانتخابي صدر، اطلع عليه وادعمنا في صناديق الاقتراع.",
        "كل صوت لـ {acand} هو صوت لشوارع أنظف في {acity}.",
        "مرشحكم {acand} لمجلس إدارة الغرفة التجارية، الرقم ٧ في ورقة الاقتراع.",
    ]),
    ("political", "ar-gulf", False, [
        "يا جماعة الخير، صوتنا لـ {acand} يوم {aday}، لا تنسون.",
        "انتخبوا ولد الديرة {acand}، هو اللي يعرف همومنا.",
        "بكرة الانتخابات، كلنا مع {acand} إن شاء الله، خبروا أهلكم.",
        "حضوركم للتصويت يوم {aday} دعم لـ {acand}، لا تقصرون.",
    ]),
    ("political", "arabizi", False, [
        "entakhbo {cand} yom el 5amees, sawtkom y3mel far2",
        "bokra el entekhabat, kolna ma3 {cand} inshallah",
        "ed3amo {cand} lel majles el baladi, ra2am 4",
    ]),
    ("political", "mixed", False, [
        "Support {cand} في انتخابات المجلس، ballot number 4.",
        "بكرة election day، don't forget تصوتون لـ {acand}.",
    ]),
    ("bulk_campaign", "en", False, [
        "Please forward to all your family and friends, it's urgent!",
        "Share this message in all your groups and tag your friends.",
        "Pass this on to 15 contacts in the next hour for a surprise.",
        "Add everyone you know to our broadcast list and forward them this.",
        "Re-send this to everyone in your contact list today.",
    ]),
    ("bulk_campaign", "ar", False, [
        "يرجى إعادة إرسال هذه الرسالة لجميع الأهل والأصدقاء.",
        "أرسلها لخمسة عشر شخصاً خلال ساعة وستصلك مفاجأة.",
        "عمّم هذه الرسالة على جميع المجموعات عندك.",
        "شاركوا الرسالة مع كل جهات الاتصال اليوم.",
    ]),
    ("bulk_campaign", "arabizi", False, [
        "2ba3tha la kol el nas ele 3andak fel contacts",
        "3ammemha 3ala kol el groupat, amana",
    ]),
    ("bulk_campaign", "mixed", False, [
        "Please forward هالرسالة لكل الأهل والأصدقاء",
        "ارسلها to 10 people وبتوصلك مفاجأة",
    ]),
    ("marketing", "en", False, [
        "Say hello to our autumn menu, now serving at all {shop} branches.",
        "{shop} turns 10 this month! Thank you {city}, come celebrate with us.",
        "Your favourite brand just got a makeover. See the new {shop} today.",
        "Join the {shop} club and be the first to hear about new {product}.",
        "Rated #1 in {city}! Discover why everyone's talking about {shop}.",
        "Meet our new stylist team at {shop}. Walk-ins welcome all week.",
    ]),
    ("marketing", "ar", False, [
        "نقدم لكم قائمتنا الجديدة لفصل الشتاء في جميع فروع {ashop}.",
        "{ashop} يحتفل بمرور ١٠ سنوات! شكراً {acity}، احتفلوا معنا.",
        "انضم إلى نادي {ashop} وكن أول من يعرف عن {aproduct} الجديدة.",
        "الأفضل في {acity}! اكتشف لماذا يتحدث الجميع عن {ashop}.",
        "شاهد إطلالتنا الجديدة، زورونا في {ashop} هذا الأسبوع.",
    ]),
    ("marketing", "ar-gulf", False, [
        "فتحنا فرعنا الجديد في {acity}، حياكم الله كلكم!",
        "{ashop} صار عندها منيو جديد، لا يفوتكم تجربونه.",
        "نزلوا تطبيقنا الجديد، كل شي صار أسهل وأسرع.",
        "تابعونا في سناب وانستا عشان يوصلكم كل جديد.",
    ]),
    ("marketing", "arabizi", False, [
        "zoroona fi far3na el jdeed fi {city}, kol shi jdeed",
        "tab3ona 3ala insta 3ashan tw9alkom a5er el a5bar",
        "{shop} sar 3ndha menu jdeed, jarrbo",
    ]),
    ("marketing", "mixed", False, [
        "Our new branch في {acity} is now open، حياكم!",
        "Follow us على instagram لكل جديد و giveaways",
    ]),
    ("promotion", "en", False, [
        "Weekend special: 2 large pizzas for {amount} SAR at {shop}. Order today!",
        "Members get {pct}% off all {product} until {day}. Tap to claim.",
        "Spend {amount} SAR and get a {amount} SAR voucher free. This week only.",
        "It's payday! Treat yourself with {pct}% off sitewide, today only.",
        "Early bird offer: book before {day} and save {pct}% on your stay.",
        "Clearance on {product}: everything must go, prices from {amount} SAR.",
    ]),
    ("promotion", "ar", False, [
        "عرض نهاية الأسبوع: بيتزا كبيرتين بـ {amount} ريال في {ashop}، اطلب اليوم.",
        "للأعضاء خصم {pct}٪ على {aproduct} حتى {aday}، احجز عرضك.",
        "اشترِ بـ {amount} ريال واحصل على قسيمة مجانية، هذا الأسبوع فقط.",
        "احجز قبل {aday} ووفّر {pct}٪ على إقامتك.",
        "نزلت الأسعار! {aproduct} من {amount} ريال والكمية محدودة.",
    ]),
    ("promotion", "ar-gulf", False, [
        "نزلت الرواتب؟ دلل نفسك بخصم {pct}٪ على كل شي اليوم بس.",
        "ترى العرض شغال لين {aday}، {aproduct} بسعر ما تلقاه بمكان ثاني.",
        "اطلب ثنتين والثالثة علينا، العرض لين الخميس.",
        "تخفيضات قوية عندنا في {ashop}، الحقوا قبل تخلص.",
    ]),
    ("promotion", "arabizi", False, [
        "3ard el weekend: 2 pizza b {amount} riyal bas",
        "5asm {pct}% lel a3da2 7atta yom el 5amees",
        "nazalat el as3ar! kol shi b nos el se3r el yom",
        "ottlob 2 w el talta 3alena, el 3ard la5er el esbou3",
    ]),
    ("promotion", "mixed", False, [
        "Weekend deal: 2 بيتزا بـ {amount} ريال only!",
        "خصم {pct}% on all {product} لين {aday}، order now",
    ]),
    ("cold_outreach", "en", False, [
        "Hello {name}, I'm with a recruitment firm and we have great candidates for your open roles. Shall I send CVs?",
        "Hi, we noticed your website loads slowly. We can fix it in a week — want a free audit?",
        "Greetings from {shop}! We'd love to become your official supplier of {product}.",
        "Hi {name}, quick one: are you happy with your current accounting provider? We'd like to offer an alternative.",
    ]),
    ("cold_outreach", "ar", False, [
        "مرحباً {aname}، نحن شركة توظيف ولدينا مرشحون مميزون لوظائفكم الشاغرة، هل أرسل السير الذاتية؟",
        "لاحظنا أن موقعكم بطيء، نستطيع إصلاحه خلال أسبوع، هل تريد فحصاً مجانياً؟",
        "تحية من {ashop}، نود أن نكون المورد الرسمي لكم في {aproduct}.",
        "أستاذ {aname}، هل أنتم راضون عن مزود المحاسبة الحالي؟ نود أن نعرض عليكم بديلاً.",
    ]),
    ("cold_outreach", "arabizi", False, [
        "hala, e7na sharikat tawtheef w 3ndna mo7taraf 2wayes, nersel el CVs?",
        "salam {zname}, 3ndna 7al l mow9e3kom el ba6ee2, tbi fa7s majani?",
        "marhaba, n7eb nkoon el mowared el rasmi lkom",
    ]),
    ("cold_outreach", "mixed", False, [
        "Hi {aname}، we are a recruitment agency وعندنا candidates ممتازين لكم.",
        "مرحبا، we noticed موقعكم بطيء، free audit؟",
    ]),
    ("scam_phishing", "en", False, [
        "Your Absher account will be closed today. Update your information immediately: {link}",
        "Final notice: your traffic fine of 300 SAR is overdue. Pay at {link} to avoid legal action.",
        "Amazon: your order could not be shipped. Confirm your payment details at {link}.",
        "You are eligible for a government grant of 10,000 SAR. Register with your bank login at {link}.",
    ]),
    ("scam_phishing", "ar", False, [
        "سيتم إغلاق حسابك في أبشر اليوم، حدّث معلوماتك فوراً: {link}",
        "إشعار أخير: مخالفة مرورية بقيمة ٣٠٠ ريال متأخرة، ادفعها عبر {link} لتجنب الإجراءات.",
        "أنت مؤهل لمنحة حكومية بقيمة ١٠ آلاف ريال، سجل ببيانات دخول البنك عبر {link}.",
    ]),
    ("scam_phishing", "arabizi", False, [
        "7esabak fi absher byetsaker el yom, 7adeth byanatak {link}",
        "mabrook, enta mo2ahal l man7a 10 alaf, sajel b byanat el bank",
    ]),
    ("gambling", "en", False, [
        "Double your deposit tonight at Royal Casino — live dealers, instant withdrawals.",
        "Join the fantasy league for 20 SAR and win up to 10,000 SAR cash every week.",
        "Spin the wheel, win real money! Download the app and claim 50 free spins.",
    ]),
    ("gambling", "ar", False, [
        "ضاعف إيداعك الليلة في الكازينو الملكي، سحب فوري للأرباح.",
        "اشترك في الدوري الافتراضي بـ ٢٠ ريال واربح حتى ١٠ آلاف ريال أسبوعياً.",
        "لف العجلة واربح فلوس حقيقية! حمل التطبيق واحصل على ٥٠ لفة مجانية.",
    ]),
    ("gambling", "arabizi", False, [
        "da3ef eda3ak el lela fi el casino, sa7b fawri",
        "lef el 3ajala w erba7 flos 7a2i2iya, 50 free spins",
    ]),
]

ALLOW += [
    ("notice", "en", True, [
        "Reminder: the municipal election is on {day}; our {city} branch closes at 2 PM so staff can vote.",
        "Your ballot paper for the residents' association AGM is attached; please return it by {day}.",
        "The council has approved the road works outside our store; parking will be limited on {day}.",
        "Please forward the attached invoice to your accounts team for payment.",
        "Share this code with the driver only when your parcel is handed to you: {otp}.",
    ]),
    ("notice", "ar", True, [
        "تذكير: الانتخابات البلدية يوم {aday}، ويغلق فرع {acity} الساعة ٢ ليتمكن الموظفون من التصويت.",
        "ورقة التصويت لاجتماع جمعية السكان مرفقة، يرجى إعادتها قبل {aday}.",
        "يرجى تحويل الفاتورة المرفقة إلى قسم الحسابات لديكم للسداد.",
        "شارك هذا الرمز مع المندوب فقط عند استلام الطلب: {otp}.",
    ]),
    ("support", "en", True, [
        "Thanks for the referral you sent us last week — the customer you introduced has now signed.",
        "As discussed on the phone, your introductory rate ends on {day}; from then the standard price applies.",
        "You asked us to call you back about the partnership agreement; {name} will call at {time}.",
        "Sorry, the free gift promised with your order is out of stock; we will send it as soon as it arrives.",
    ]),
    ("support", "ar", True, [
        "كما اتفقنا هاتفياً، ينتهي السعر التعريفي يوم {aday} ويطبق السعر المعتاد بعده.",
        "طلبت منا معاودة الاتصال بخصوص اتفاقية الشراكة، سيتصل بك {aname} الساعة ٤.",
        "نعتذر، الهدية المجانية مع طلبك غير متوفرة حالياً وسنرسلها فور وصولها.",
    ]),
    ("support", "arabizi", True, [
        "el hadiya el majaniya ma3 talabak 5el9at, bnersilha awal ma twsal",
        "zay ma ettafa2na, el se3r el ta3reefi yentehi yom el a7ad",
    ]),
    ("account", "en", True, [
        "Your bet limit change request for your account was received; our compliance team will review it.",
        "Your lottery winnings tax certificate for last year is ready to download from your bank app.",
        "We will never ask for your password or OTP. Report suspicious messages to 920000000.",
        "Your investment account statement for Q3 is ready; returns were 2.1% for the quarter.",
    ]),
    ("account", "ar", True, [
        "لن نطلب منك أبداً كلمة المرور أو رمز التحقق، أبلغ عن الرسائل المشبوهة على ٩٢٠٠٠٠٠٠٠.",
        "كشف حساب الاستثمار للربع الثالث جاهز، وبلغ العائد ٢٫١٪ للربع.",
        "تم استلام طلب تعديل حد البطاقة، وسيراجعه فريق الامتثال.",
    ]),
    ("internal", "en", True, [
        "Marketing team: the launch event for the new branch is on {day}; the agenda is in the shared folder.",
        "Please don't share the draft sale prices outside the team until Thursday.",
        "HR: the referral bonus for hiring {name} has been added to your payslip.",
    ]),
    ("internal", "ar", True, [
        "فريق التسويق: حفل افتتاح الفرع الجديد يوم {aday} والجدول في المجلد المشترك.",
        "الموارد البشرية: تمت إضافة مكافأة الترشيح لتوظيف {aname} إلى راتبك.",
    ]),
    ("internal", "ar-gulf", True, [
        "يا شباب لا تنشرون أسعار التخفيضات برا الفريق قبل الخميس.",
        "فريق التسويق، حفل افتتاح الفرع الجديد {aday}، الجدول في الملف المشترك.",
    ]),
    ("order", "arabizi", True, [
        "talabak ra2m {order} wesel, w el 5asm {pct}% ento7eb fel fatoora",
        "el coupon ele ista5damto ettabba2 3ala talabak",
    ]),
    ("appointment", "arabizi", False, [
        "tathkeer: maw3edak bokra el sa3a 10 fi el 3iyada",
        "el fanni byejik yom el ethnen ben 8 w 10",
    ]),
    ("billing", "arabizi", False, [
        "fatortak b {amount} riyal mosta7a2a yom el a7ad",
        "estalamna daf3tak, w ra9eedak el 7een 9efr",
    ]),
    ("shipping", "mixed", False, [
        "Your shipment #{order} وصل {acity}، out for delivery اليوم.",
        "Customs clearance تم لشحنتك، delivery {aday}.",
    ]),
    ("shipping", "ar-gulf", False, [
        "شحنتك وصلت {acity} وبتوصلك بكرة إن شاء الله.",
        "المندوب بيتصل عليك قبل يوصل، خلك قريب من الجوال.",
    ]),
    ("billing", "ar-gulf", True, [
        "نقاطك صارت ١٢٤٠، ومنها ٢٠٠ بتنتهي آخر الشهر، تقدر تستخدمها في أي طلب.",
        "الكاش باك حق الشهر الماضي نزل في محفظتك.",
    ]),
]

# --- third batch: everyday Gulf, Arabizi and mixed service messages, so
# colloquial language is not itself a signal ------------------------------

ALLOW += [
    ("order", "ar-gulf", False, [
        "هلا والله {aname}، طلبك تجهز وبيطلع مع المندوب العصر.",
        "أبشر، سجلنا طلبك رقم {order} وبنكلمك أول ما يجهز.",
        "الطلب حقك تأخر شوي بسبب الزحمة، معليش، بيوصلك خلال ساعة.",
        "تم استلام الدفعة، وطلبك بيوصلك {aday} إن شاء الله.",
        "حياك الله {aname}، حجزك للطاولة الساعة ٩ الليلة مأكد.",
        "ترى الكيكة حقتك جاهزة، تقدر تمر تاخذها من الفرع.",
    ]),
    ("support", "ar-gulf", False, [
        "هلا {aname}، شفنا الصور اللي أرسلتها، وبنبدل لك القطعة بدون أي رسوم.",
        "المعذرة على اللي صار، رجعنا لك المبلغ وبيوصل حسابك خلال ٣ أيام.",
        "وصلنا بلاغك عن التكييف، الفني بيمرك {aday} بين ٤ و ٦.",
        "أبشر بسعدك، عدلنا العنوان مثل ما طلبت.",
        "تم إلغاء الاشتراك مثل ما طلبت، وما راح ينخصم منك شي.",
        "الله يعافيك على صبرك، المشكلة انحلت وتقدر تستخدم الخدمة الحين.",
    ]),
    ("appointment", "ar-gulf", False, [
        "تذكير: موعدك عندنا بكرة الساعة ١٠ الصبح، لا تنسى تجيب الهوية.",
        "هلا {aname}، الدكتور تأخر شوي، موعدك صار الساعة ٥ بدال ٤.",
        "موعد غسيل سيارتك {aday} الساعة ٨ الصبح، بنرسل لك إذا تغير شي.",
    ]),
    ("notice", "ar-gulf", False, [
        "ترى الفرع بيسكر بدري اليوم الساعة ٨ بسبب الصيانة.",
        "بنقطع الكهرباء عن المحل ساعتين الصبح عشان الصيانة، السموحة.",
        "مواعيد الدوام في رمضان من ٩ الصبح لين ٣ العصر.",
    ]),
    ("account", "ar-gulf", False, [
        "تم تفعيل حسابك، تقدر تدخل التطبيق الحين بكلمة المرور الجديدة.",
        "انتبه، أحد حاول يدخل حسابك من جهاز ثاني، إذا مو أنت غيّر كلمة المرور.",
        "اشتراكك بيخلص آخر الشهر، تقدر تجدده من التطبيق إذا تبي.",
    ]),
    ("order", "arabizi", False, [
        "hala wallah {zname}, talabak t9ahhab w byetla3 ma3 el mandoob el 3a9er",
        "abshir, sajjalna talabak ra2m {order} w bnkallmak awal ma yjhaz",
        "el talab 7a22ak t2a55ar shwaya bsabab el za7ma, ma3lesh",
        "el cake 7a22tak jahza, t2dar tmor t5ethha men el far3",
    ]),
    ("support", "arabizi", False, [
        "shefna el 9owar ele arsaltha, bnbaddel lak el 8i6'3a bdoon rsoom",
        "ma3lesh 3ala ele 9ar, rajja3na lak el mablagh w byewsal 5elal 3 ayam",
        "wesalna balaghak 3an el mokayyef, el fanni bymorrak bokra",
        "3addalna el 3enwan zay ma 6alabt",
        "el moshkela ent7allat w t2dar testa5dem el 5edma el 7een",
    ]),
    ("account", "arabizi", False, [
        "7esabak tfa33al, t2dar tedkhol el app el 7een",
        "entebeh, 7ad 7awal yedkhol 7esabak men jehaz tani, eza mo enta ghayyer el password",
        "eshterakak byo5la9 a5er el shahr, t2dar tjaddedo men el app",
    ]),
    ("appointment", "arabizi", False, [
        "el doctor t2a55ar shwaya, maw3edak 9ar el sa3a 5 badal 4",
        "maw3ed ghaseel sayyartak yom el sabt el sa3a 8 el sob7",
    ]),
    ("notice", "arabizi", False, [
        "el far3 bysakker badri el yom el sa3a 8 3ashan el siyana",
        "mawa3eed el dawam fi ramadan men 9 la 3",
    ]),
    ("internal", "arabizi", False, [
        "ya shabab el ejtima3 ente2al la bokra el sa3a 10",
        "{zname} bygatti dawam el lail el yom badali",
        "sallmo kashfat el dawam 2abl el 5amees",
    ]),
    ("support", "mixed", False, [
        "Hi {aname}، we received your complaint وبنرد عليك today.",
        "Your refund تم، it will reach your account خلال 3 أيام.",
        "The technician بيجيك {aday} between 4 and 6.",
        "Sorry على التأخير، your order is on the way الحين.",
    ]),
    ("account", "mixed", False, [
        "Your account تم تفعيله، you can login الحين.",
        "Password changed بنجاح، if this wasn't you تواصل معنا.",
    ]),
    ("notice", "mixed", False, [
        "The branch مسكر today for maintenance، we open بكرة.",
        "Ramadan hours: من 9 الصبح to 3 العصر.",
    ]),
    ("health", "ar-gulf", False, [
        "نتايج التحاليل طلعت وكلها سليمة ولله الحمد، ما تحتاج مراجعة.",
        "العلاج حقك جاهز في الصيدلية، تقدر تستلمه اليوم.",
    ]),
    ("account", "ar", False, [
        "تم توثيق حسابك بنجاح ويمكنك الآن استقبال المدفوعات.",
        "تم قبول طلب انضمامك، والتفاصيل مرسلة إلى بريدك الإلكتروني.",
        "ستُعلن نتائج الاختبارات على البوابة الإلكترونية يوم {aday}.",
    ]),
    ("account", "en", False, [
        "Your account has been verified and you can now receive payments.",
        "Security alert: a new login to your account from Chrome on Windows. If this wasn't you, reset your password in the app.",
        "Your application was accepted. The details have been sent to your email.",
        "Exam results will be published on the portal on {day}.",
    ]),
]

# --- fourth batch: everyday English service messages ----------------------

ALLOW += [
    ("order", "en", False, [
        "Thanks for shopping with us! Order #{order} is being prepared and you'll get a tracking link soon.",
        "Hi {name}, your cake order for {day} is confirmed. Pickup from {shop} after {time}.",
        "We're sorry, one item in order #{order} is out of stock. Reply 1 to refund it or 2 to wait a week.",
        "Your grocery slot is booked for {day}, {time}. You can add items until midnight before.",
        "Your prescription refill order is ready at {shop}, counter 3.",
        "Your laundry is ready for collection at {shop}. We're open until 11 PM.",
    ]),
    ("shipping", "en", False, [
        "Your driver {name} is 5 minutes away. Please keep your phone nearby.",
        "Delivery attempt failed: nobody was home. We'll try again {day} between 2 and 6 PM.",
        "Your furniture will be delivered {day}; the team will call 30 minutes before arrival.",
        "Your package was left with the building reception at {time}.",
    ]),
    ("support", "en", False, [
        "Hi {name}, we've received the photos of the damaged item and will send a replacement at no cost.",
        "Sorry for the trouble — your refund of {amount} SAR will reach your account within 3 working days.",
        "Your service request #{order} is scheduled: the technician arrives {day} between 4 and 6 PM.",
        "We've updated your delivery address as requested.",
        "Your subscription was cancelled as requested; you won't be charged again.",
        "The outage is resolved and your internet should be working again. Restart the router if not.",
        "Thanks for your patience, {name}. The issue with your card payment has been fixed.",
    ]),
    ("account", "en", False, [
        "Your new card ending 7781 has been activated.",
        "We noticed a sign-in attempt from a new device. If it wasn't you, change your password in the app.",
        "Your membership renews on {day}. No action is needed.",
        "Your documents were approved. You can now use all features of your account.",
        "Your salary of {amount} SAR has been credited to your account.",
    ]),
    ("appointment", "en", False, [
        "The doctor is running 30 minutes late; your appointment is now at {time}.",
        "Your car wash is booked for {day} at 8 AM. We'll message you if anything changes.",
        "Please arrive 15 minutes early for your MRI on {day} and bring your referral letter.",
    ]),
    ("internal", "en", False, [
        "Team, please submit your leave requests for Eid by {day}.",
        "{name} will cover the night shift today instead of me.",
        "The office AC will be serviced on {day}; please work from the meeting rooms.",
        "Payroll will be processed on the 25th this month because of the holiday.",
    ]),
    ("notice", "en", False, [
        "Our {city} branch closes early today at 8 PM for maintenance.",
        "Ramadan opening hours: 9 AM to 3 PM and 9 PM to 1 AM.",
        "The lift in building B is out of service until {day}; please use lift A.",
    ]),
    ("notice", "en", True, [
        "Parents: the school trip fee of {amount} SAR is due by {day}; the free places have all been allocated.",
        "Reminder: the sale of your car is complete and the ownership transfer will show in Absher within 24 hours.",
        "Your gift card balance is {amount} SAR after today's purchase.",
        "The offer you accepted for the apartment has been sent to the landlord; we'll let you know his answer.",
    ]),
]

# --- fifth batch: short replies a support line sends all day -------------

ALLOW += [
    ("support", "en", False, [
        "Done.", "OK, noted.", "Thanks, received.", "On my way.", "Yes, confirmed.",
        "Good morning {name}!", "Welcome back!", "Call me when you can.",
        "See you at {time}.", "All set.", "Sorry, we're closed now.",
        "Got it, thank you!", "We'll check and get back to you.",
    ]),
    ("support", "ar-gulf", False, [
        "تم.", "أبشر.", "حاضر.", "وصلت، مشكور.", "صباح الخير {aname}!",
        "في الطريق.", "كلمني إذا فضيت.", "تمام، نشوفك الساعة ٥.",
        "معليش، سكرنا الحين.", "ولا يهمك.", "شكراً، وصلتنا.",
    ]),
    ("support", "arabizi", False, [
        "tamam", "abshir", "7ader", "wasalat, mashkoor", "fi el 6ari2",
        "kallemni eza fe9ait", "ma3lesh, sakkarna el 7een", "wala yhimmak",
    ]),
]

# --- sixth batch: conversational replies on a support line ----------------

ALLOW += [
    ("support", "en", False, [
        "Hi {name}, thanks for your message. Could you send me your order number so I can check?",
        "Sure, I can help with that. Which branch did you visit?",
        "No problem at all, we'll sort it out for you today.",
        "I've passed your question to my colleague {name}; she will reply within the hour.",
        "Can you tell me the model number printed on the back of the device?",
        "You're welcome! Let us know if you need anything else.",
        "Just checking in: did the technician fix the problem yesterday?",
        "We can't find a booking under this number. Did you book with another phone?",
        "Yes, you can bring it to any branch with the receipt and we'll look at it.",
        "I understand, and I'm sorry for the wait. Your case is now with the manager.",
        "Please reply with a photo of the label so we can trace the parcel.",
        "Happy to help! Your new password link has been sent to your email.",
    ]),
    ("support", "ar", False, [
        "أهلاً {aname}، شكراً لرسالتك. هل يمكنك إرسال رقم الطلب لأتحقق منه؟",
        "بكل سرور، أي فرع قمت بزيارته؟",
        "لا مشكلة أبداً، سنحل الموضوع لك اليوم.",
        "حوّلت سؤالك إلى زميلتي وسترد عليك خلال ساعة.",
        "العفو! أخبرنا إذا احتجت أي شيء آخر.",
        "هل أصلح الفني المشكلة أمس؟ نود الاطمئنان.",
        "لم نجد حجزاً بهذا الرقم، هل حجزت برقم آخر؟",
        "نعم، يمكنك إحضاره لأي فرع مع الفاتورة وسنفحصه.",
        "أتفهم ذلك وأعتذر عن الانتظار، حالتك الآن لدى المدير.",
        "يرجى إرسال صورة الملصق لنتتبع الشحنة.",
    ]),
    ("support", "ar-gulf", False, [
        "هلا {aname}، حياك، ممكن ترسل لي رقم الطلب عشان أشيك عليه؟",
        "أكيد أخدمك، أي فرع رحت له؟",
        "ولا يهمك، بنحلها لك اليوم إن شاء الله.",
        "حولت سؤالك لزميلي وبيرد عليك خلال ساعة.",
        "العفو، إذا احتجت أي شي ثاني حنا موجودين.",
        "بس حبيت أتطمن، الفني صلح المشكلة أمس؟",
        "ما لقينا حجز على هالرقم، يمكن حجزت برقم ثاني؟",
        "إيه تقدر تجيبه لأي فرع مع الفاتورة ونشوفه لك.",
        "أفهمك والله، وآسفين على التأخير، موضوعك الحين عند المدير.",
        "ياليت ترسل صورة الملصق عشان نتتبع الشحنة.",
    ]),
    ("support", "arabizi", False, [
        "hala {zname}, 7ayak, momken ters8l li ra2m el talab 3ashan ashayyek 3aleh?",
        "akeed a5dmak, ay far3 ro7t lah?",
        "wala yhimmak, bn7illaha lak el yom inshallah",
        "7awwalt so2alak la zameeli w byrod 3alek 5elal sa3a",
        "el 3afw, eza e7tajt ay shi tani e7na mawjoodeen",
        "bas 7abbait at6amman, el fanni 9alla7 el moshkela ams?",
        "ma lgaina 7ajz 3ala hal ra2m, yomkin 7ajazt b ra2m tani?",
        "eeh t2dar tjeebah la ay far3 ma3 el fatoora w nshoofah lak",
    ]),
    ("support", "mixed", False, [
        "Hi {aname}، ممكن ترسل لي order number عشان أشيك؟",
        "No problem، بنحلها لك today إن شاء الله.",
        "You're welcome! إذا احتجت أي شي we're here.",
        "Please send صورة الملصق so we can trace the parcel.",
    ]),
]

# --- seventh batch: more allowed messages that use selling words -----------

ALLOW += [
    ("order", "en", True, [
        "Your discounted order #{order} ({pct}% member price) is out for delivery.",
        "The bundle offer you chose at checkout (buy 2, get 1 free) is reflected in order #{order}.",
        "Your free sample was added to order #{order} as you requested.",
        "The coupon {code} you entered has expired, so order #{order} was charged the full {amount} SAR. Reply if you'd like us to cancel.",
        "We've applied your {amount} SAR store credit to order #{order}; nothing more to pay.",
    ]),
    ("billing", "en", True, [
        "Your receipt: 2 items, {pct}% staff discount, total {amount} SAR. Thank you for your purchase.",
        "Your points balance after today's purchase: 820. Points expire 12 months after they are earned.",
        "The sale price was charged correctly: {amount} SAR instead of the regular price, see the attached receipt.",
        "Your Black Friday refund of the price difference ({amount} SAR) has been sent to your card.",
    ]),
    ("support", "en", True, [
        "Regarding the sale item you returned: final-sale items can be exchanged but not refunded.",
        "You asked about the free delivery on your order: it applies because your total was over {amount} SAR.",
        "The winning bid for the auction you joined was higher than yours, so your deposit has been released.",
    ]),
    ("order", "ar", True, [
        "طلبك المخفض رقم {order} بسعر الأعضاء ({pct}٪) في الطريق إليك.",
        "عرض الحزمة الذي اخترته عند الدفع (اشترِ ٢ واحصل على ١ مجاناً) ظاهر في طلبك رقم {order}.",
        "أضفنا العينة المجانية إلى طلبك رقم {order} كما طلبت.",
        "تم استخدام رصيدك في المتجر بقيمة {amount} ريال لطلبك رقم {order}، ولا يوجد مبلغ مستحق.",
    ]),
    ("billing", "ar", True, [
        "إيصالك: قطعتان، خصم الموظفين {pct}٪، الإجمالي {amount} ريال. شكراً لتسوقك.",
        "رصيد نقاطك بعد عملية اليوم: ٨٢٠ نقطة، وتنتهي صلاحية النقاط بعد ١٢ شهراً.",
        "تم إرجاع فرق السعر من عروض الجمعة البيضاء ({amount} ريال) إلى بطاقتك.",
    ]),
    ("support", "ar-gulf", True, [
        "بخصوص القطعة اللي عليها تخفيض ورجعتها: نقدر نبدلها بس ما نقدر نرجع فلوسها.",
        "سألت عن التوصيل المجاني: طلبك مشمول لأن المجموع فوق {amount} ريال.",
        "الخصم اللي سألت عنه انحسب لك في الفاتورة، المجموع صار {amount} ريال.",
    ]),
    ("order", "arabizi", True, [
        "talabak el m5affa9 ra2m {order} fi el 6ari2 ilak",
        "el 3ayyena el majjaniya ensafat la talabak zay ma 6alabt",
        "el 5asm ele sa2alt 3anno ento7ib lak fel fatoora",
    ]),
    ("billing", "mixed", True, [
        "Your receipt: خصم الموظفين {pct}%، total {amount} ريال.",
        "Points balance بعد purchase اليوم: 820 نقطة.",
    ]),
]

# --- eighth batch: more Arabizi, and more ways to pitch, launch and sell ----

REFUSE += [
    ("promotion", "arabizi", False, [
        "el 3orood bada2at! kol el {product} b nos el se3r la5er el esbou3",
        "2e5er forsa, el 5asm {pct}% yentehi el lela",
        "eshtri 2 w 5od el talet hadiya, bas el yom",
        "3ard ma yetfawwat: {product} b {amount} riyal bas",
        "code {code} y3teek {pct}% 5asm 3ala ay talab",
        "to9eel majjani 3ala kol el talabat hal weekend",
    ]),
    ("promotion", "arabizi", True, [
        "sarlak fatra ma marrait 3alena ya {zname}, ta3al w el talab el jay 3alena",
        "ba2i sa3at bas w terja3 el as3ar zay ma kanat",
    ]),
    ("marketing", "arabizi", False, [
        "jarrib el menu el jdeed fi {shop}, 3endna at6bag ma ra7 tnsaha",
        "el app el jdeed nazal! a2sra3 w ashal, nazzelo el 7een",
        "e7na sarna nwasel la {city}, ottlob men el app",
        "tab3ona 3ala snap 3ashan tshoofon kol jdeed",
        "inzamm la nadi el 3omala w ejma3 no2a6 3ala kol shira",
    ]),
    ("marketing", "arabizi", True, [
        "{zname}, el {product} ele 3ajabatak rje3at b ma2asak",
        "laa7athna enak ma fata7t el app men zaman, t8ayyar feeh ashya2 wayed",
    ]),
    ("cold_outreach", "arabizi", False, [
        "marhaba, e7na wekalat taswee8 fi {city}, t7ebbon nzeed mabee3atkom?",
        "salam, nwaffer 3emala manziliya b as3ar monaseba, tawasal ma3na",
        "hala, 3andna barnamaj mo7asaba lel mo2assasat el 9agheera, t7eb ne3red 3alek?",
        "7abeen n3arrefkom 3ala sharikatna, meen el mas2ool 3an el moshtarayat?",
    ]),
    ("cold_outreach", "arabizi", True, [
        "salam {zname}, 7a9alt ra2mak men sadee8, 3ndna shi yemkin yefeed sho8lak, meta yenasbak netkallam?",
        "mabrook 3al maktab el jdeed! eza ma e5tarto mozawwed network lel7een, n7eb n5dmkom",
    ]),
    ("scam_phishing", "arabizi", False, [
        "ba6a8tak ma79ooba, ersel el ra2m el serri 3ashan nfa33elha",
        "shu7natak m3allaga, edfa3 rsoom el jamarek men {link}",
        "erba7 500 riyal yomiyan men el bait bdoon 5ebra",
        "estathmer 1000 dollar w 5od arba7 30% kol esbou3 madmoona",
    ]),
    ("gambling", "arabizi", False, [
        "tawa9o3at madmoona lmobarayat el esbou3, enzamm lel 8enat",
        "ja2ezat el ya9ana9eeb el lela, eshtri tathkartak",
        "el 6awelat el jdeeda enfata7at, a8al mablag 10, nshoofak el lela",
    ]),
    ("bulk_campaign", "arabizi", False, [
        "la to8if 3endak, 5alleha tewsal la kol ahlak w rab3ak",
        "7o66ha fi kol el groupat ele 3endak, allah yejzak 5air",
    ]),
    ("political", "arabizi", True, [
        "bokra yet7adad mosta8bal deeratna, bakker w jeeb jeeranak",
        "tathakkaro meen 9alla7 shawari3 7ayyna, w warrooh yom el 5amees",
    ]),
    ("cold_outreach", "en", False, [
        "Hi {name}, we help clinics fill empty appointment slots. Worth a 10-minute demo this week?",
        "Hello from {shop}! We'd like to list your products on our marketplace for free. Interested?",
        "Dear sir, we are an ISO-certified cleaning company. Kindly share your facility manager's contact.",
        "Hi, I'm a freelance photographer in {city}. Can I send you my rates for product shoots?",
        "Greetings, we offer Saudization consulting and HR outsourcing. May we set up a meeting?",
    ]),
    ("cold_outreach", "en", True, [
        "Hi {name}, saw your team at the expo last week. We work with companies your size on logistics; open to comparing notes?",
        "Hello {name}, I'll keep this short: we've saved similar restaurants 15% on supplies. Could I call you {day}?",
        "Hi, is this the right number for whoever looks after your company's vehicles?",
    ]),
    ("cold_outreach", "ar", False, [
        "مرحباً، نساعد العيادات على ملء المواعيد الشاغرة، هل يناسبك عرض تجريبي مدته ١٠ دقائق؟",
        "تحية طيبة، نحن شركة نظافة معتمدة، نرجو تزويدنا برقم مدير المنشأة.",
        "أهلاً، أنا مصور مستقل في {acity}، هل أرسل لك أسعار تصوير المنتجات؟",
        "نقدم استشارات التوطين وخدمات الموارد البشرية، هل يمكن ترتيب اجتماع؟",
    ]),
    ("cold_outreach", "ar-gulf", False, [
        "هلا، شفناكم في المعرض الأسبوع اللي راح، نشتغل مع شركات بحجمكم في اللوجستيات، ودك نتكلم؟",
        "السلام عليكم، هذا رقم المسؤول عن سيارات الشركة؟ عندنا عرض صيانة للأساطيل.",
        "مرحبا، وفرنا لمطاعم مثلكم ١٥٪ من تكلفة التوريد، أقدر أتصل عليك {aday}؟",
    ]),
    ("marketing", "en", False, [
        "Tried our new breakfast menu yet? Served daily until noon at {shop}.",
        "Big news: {shop} now takes Apple Pay and Tabby at every branch!",
        "We've redesigned our store in {city} — come and have a look this week.",
        "Be the first to try our new {product}. Now in all {shop} stores.",
    ]),
    ("marketing", "ar", False, [
        "جربت فطورنا الجديد؟ يقدم يومياً حتى الظهر في {ashop}.",
        "خبر سعيد: {ashop} يقبل الآن الدفع عبر تابي في جميع الفروع!",
        "جددنا فرعنا في {acity}، تعال شوف بنفسك هذا الأسبوع.",
        "كن أول من يجرب {aproduct} الجديدة، متوفرة الآن في جميع فروع {ashop}.",
    ]),
    ("promotion", "en", True, [
        "Your appointment is booked for {day}. Add a second service at the same visit and pay half for it.",
        "Thanks for your order #{order}! Your next one ships free if you order within 48 hours.",
        "Your gym membership renews next week — renew today and get 2 extra months.",
    ]),
    ("promotion", "ar", True, [
        "تم حجز موعدك يوم {aday}، أضف خدمة ثانية في نفس الزيارة وادفع نصف سعرها.",
        "شكراً لطلبك رقم {order}! طلبك القادم توصيله مجاني إذا طلبت خلال ٤٨ ساعة.",
        "اشتراكك في النادي يتجدد الأسبوع القادم، جدد اليوم واحصل على شهرين إضافيين.",
    ]),
]

ALLOW += [
    ("order", "arabizi", False, [
        "talabak ra2m {order} t2akkad, el mablagh {amount} riyal",
        "el mandoob 3ind el bab, ya reet tenzil testalem",
        "talabak wasal el far3, t2dar testalmo men el sa3a 4",
    ]),
    ("billing", "arabizi", True, [
        "no2a6ak 9arat 1240, w 200 menha btentehi a5er el shahr",
        "el cashback 7a22 el shahr el mathi nizal fi el ma7faTHa",
        "tam ta6bee8 5asm el sadad el mobakker 5% 3ala fatortak",
    ]),
    ("notice", "arabizi", True, [
        "yom el entekhabat el far3 msakkar, nefta7 yom el a7ad",
        "el 3ard ele 2addamto 3ala el sha22a wasal lel malek, bn5abrak b raddo",
    ]),
    ("internal", "arabizi", True, [
        "ya shabab, ershelo lawa7at el ta5fidat el 8adeema 2abl el 5amees",
        "fareeg el taswee8: 7afl eftita7 el far3 el jdeed yom el a7ad",
    ]),
    ("account", "arabizi", True, [
        "tasjeel do5ool jdeed la 7esabak men {city}, eza enta la t7ta7 shi, w ma ra7 net6lob menak el code abadan",
        "ba6a8tak ele te5la9 b 4412 enesta5damat b {amount} riyal, mo enta? et9el 3al ra2m wara el ba6a8a",
    ]),
]

# --- ninth batch (2026-12-01, after held-out set v2 was frozen; written
# for the categories cross-validation found weakest: cold outreach,
# political, promotion, marketing, scam, and Arabizi) ---------------------

REFUSE += [
    ("cold_outreach", "en", True, [
        "Hi {name}, quick one: we help restaurants in {city} cut food waste by a third. Can I send you a two-page overview?",
        "Good afternoon. I represent a printing house and noticed your shop's signage could use a refresh. Shall I drop by with samples?",
        "Hello {name}, our firm audits energy bills for warehouses. Most clients save 12% in the first year. Interested in a free review?",
        "Hope this finds you well. We're an HR outsourcing company working with firms your size in {city}; could I have 10 minutes of your time?",
        "Hi, is this the owner of {shop}? We supply uniforms to retail chains and would love to quote for your staff.",
        "Dear Sir/Madam, allow me to introduce our translation services: legal, medical and technical, delivered within 48 hours.",
        "Hey {name}! Found your number on your Instagram page. We do product photography for online stores — can I show you our portfolio?",
        "Hello, we are expanding our distribution network in {city} and are looking for shops like yours to stock our {product}. When can we meet?",
    ]),
    ("cold_outreach", "ar", True, [
        "السلام عليكم، معك سلمان من شركة حلول تقنية، نقدم أنظمة نقاط البيع للمحلات، هل يناسبكم نحدد موعد للعرض؟",
        "تحية طيبة، نحن مكتب استشارات قانونية ونتشرف بتقديم خدماتنا لشركتكم، نأمل التواصل معنا.",
        "مرحباً، لاحظنا أن مؤسستكم توسعت مؤخراً، ونحن شركة توظيف نوفر كوادر مؤهلة بسرعة. هل نرسل لكم ملفنا التعريفي؟",
        "أستاذ {aname}، حصلت على رقمك من معرض {acity}، نحن موزع معتمد لمعدات المطابخ ونرغب بزيارتكم.",
    ]),
    ("cold_outreach", "ar-gulf", True, [
        "هلا أبو {aname}، أنا من شركة تسويق، شفت حسابكم بالانستا وعندي أفكار تزيد طلباتكم، تسمح لي أكلمك دقيقتين؟",
        "السلام عليكم، عندنا خدمة تنظيف مكيفات للمحلات بأسعار حلوة، تبون نمر عليكم ونشوف؟",
        "مساء النور، احنا نوفر سواقين وعمالة بعقود شهرية، إذا تحتاجون شي كلمني.",
    ]),
    ("cold_outreach", "arabizi", True, [
        "salam {zname}, ana min sharikat bar7majiyat, 3ndna nitham lel 7ojoozat yenaseb 3yadtkom, t7eb a3red 3alek?",
        "hala, shefna m7alkom fi {city} w 3ndna mo3eddat matabe5 b as3ar 7elwa, mumkin nzorkom?",
        "marhaba, e7na agency social media, nigdar nzeed mabee3atkom, yenasbak nitkallam bokra?",
        "hi {zname}, 7aseltt ra8mak min ma3rad el ashghal, nwarred 2athath maktabi, eza 7abeit ab3athlak el catalog",
    ]),
    ("cold_outreach", "mixed", True, [
        "Hello أستاذ {aname}، we are a supplier لمواد التغليف، ودنا نرسل لكم samples مجاناً.",
        "Hi، أنا من شركة IT solutions، شفت موقعكم ونقدر نطوره. Can we schedule a call?",
    ]),
    ("political", "en", True, [
        "Neighbours, {cand} fought for our park when nobody else did. Thursday, let's return the favour at the ballot box.",
        "Don't sit this one out. Every vote in our ward counts — {cand} needs you on {day}.",
        "Free transport to polling stations tomorrow for supporters of {cand}. Reply with your area.",
        "Sign the petition against the new municipal tax and join our march on {day}.",
        "The council has failed us for years. Change starts with your vote on {day} — choose {cand}.",
    ]),
    ("political", "ar", True, [
        "أهالي الحي الكرام، {acand} وقف معنا في كل المواقف، فلنقف معه يوم {aday} عند صناديق الاقتراع.",
        "شارك في الحملة الانتخابية وادعم مرشحك، المقر مفتوح كل مساء.",
        "وقّع على العريضة ضد قرار البلدية الجديد وانضم إلينا في الاعتصام يوم {aday}.",
    ]),
    ("political", "ar-gulf", True, [
        "يا جماعة الخير لا تنسون الانتخابات {aday}، صوتوا لولد الديرة {acand}.",
        "الكل يطلع يصوت، ترا الفرق بين المرشحين بسيط وكل صوت يفرق.",
    ]),
    ("political", "arabizi", True, [
        "ya jama3a la tensoon el enti5abat {day}, kelna m3a {cand}!",
        "9awtak amana, entakheb {cand} 3ashan mustaqbal a7san lel mante8a",
        "el 7amla el enti5abiya ta7taj motatawe3een, sajjel esmak w sharek ma3na",
    ]),
    ("political", "mixed", True, [
        "Election day {aday}! صوتوا لـ{acand}، he is the change we need.",
    ]),
    ("promotion", "en", True, [
        "Last call, {name}: the members' price on {product} disappears at midnight.",
        "Psst — loyal customers get early access to our summer markdowns tomorrow. Don't tell anyone 😉",
        "Bring a friend to {shop} this week and the second meal is on the house.",
        "Your birthday month is here 🎂 Enjoy a treat from us: {pct}% off anything you like until {day}.",
        "Stock clearance at {shop}: everything must go before we renovate. Prices you won't see again.",
        "We've saved you a seat: book a table before {day} and dessert is on us.",
        "Thanks for shopping with us! As a thank you, your next delivery is free if you order within 48 hours.",
        "Order #{order} delivered ✅ Loved it? Reorder today and get a second {product} at half price.",
    ]),
    ("promotion", "ar", True, [
        "آخر فرصة! ينتهي عرض {ashop} الليلة، لا تضيع السعر المميز على {aproduct}.",
        "بمناسبة العيد، هديتك علينا مع كل طلب فوق {amount} ريال حتى {aday}.",
        "شكراً لتسوقك معنا! طلبك القادم توصيله مجاني إذا طلبت خلال يومين.",
        "تصفية شاملة في {ashop} بسبب التجديد، أسعار لن تتكرر.",
    ]),
    ("promotion", "ar-gulf", True, [
        "يا هلا! الحين القهوة الثانية علينا، مرّنا قبل {aday}.",
        "العرض خربان 🔥 كل {aproduct} ببلاش مع أي طلب فوق {amount} ريال، الحق عليه.",
        "حبيبنا {aname}، عيد ميلادك قرب وهديتك عندنا، تعال خذها من {ashop} وخذ معها خصم.",
        "بس اليوم: اطلب من التطبيق والتوصيل مجاني، لا يفوتك.",
    ]),
    ("promotion", "arabizi", True, [
        "a5er forsa ya {zname}! el 3ard ykhallas el lela, ma tfawwetha",
        "el gahwa el thanya 3alaina el yom bas, marrna!",
        "kel el {product} b se3r ma ra7 yetkarrar, tasfiya kamla 7atta {day}",
        "tawseel balash 3ala ay talab el yom, otlob men el app",
        "hdeyet 3eed meladak 3enna, ta3al 5udha w 5ud ma3ha 5asm {pct}%",
        "sale kbeer fi {shop}, ta5fee6at la {pct}% 3ala kel shay",
    ]),
    ("promotion", "mixed", True, [
        "Last chance! العرض ينتهي الليلة، {pct}% off على كل شي.",
        "Free delivery اليوم بس على كل الطلبات من {ashop}.",
    ]),
    ("marketing", "en", True, [
        "We haven't seen you in a while, {name}. A lot has changed at {shop} — come and have a look.",
        "Missing you already! Your loyalty card at {shop} is still active whenever you're ready to come back.",
        "Tell your friends about {shop}: for every friend who signs up with your code, you both get store credit.",
        "Introducing our new {product} line, crafted for everyday comfort. Discover it in store and online.",
        "Follow us on TikTok for weekly tips, giveaways and sneak peeks from {shop}.",
        "Big news: {shop} just opened its third branch in {city}! Come celebrate with us this weekend.",
        "Rate us 5 stars and enter our monthly draw for a {product}.",
    ]),
    ("marketing", "ar", True, [
        "اشتقنا لك! مضى وقت على زيارتك الأخيرة إلى {ashop}، ننتظرك قريباً.",
        "شارك رمز الإحالة مع أصدقائك واحصل على رصيد عن كل صديق يشتري.",
        "تعرّف على تشكيلتنا الجديدة من {aproduct}، متوفرة الآن في فروعنا وعلى موقعنا.",
        "افتتحنا فرعنا الجديد في {acity}! شرفونا بزيارتكم.",
    ]),
    ("marketing", "ar-gulf", True, [
        "وينك يا {aname}؟ نفتقدك والله، صار لك زمان ما طليت علينا.",
        "جيب ربعك وكل واحد يسجل بكودك تاخذ رصيد، كل ما زادوا زاد رصيدك.",
        "تابعونا على سناب عشان تشوفون الجديد أول بأول 👻",
    ]),
    ("marketing", "arabizi", True, [
        "wenak ya {zname}? nefta8dak, sarlak zaman ma marreit 3alaina",
        "jeeb rab3ak w kel wa7ed ysajjel b codak ta5ud rased",
        "fata7na far3na el jdeed fi {city}, 7ayakom kelkom!",
        "tab3oona 3al insta 3ashan tshoofon el jdeed awwal b awwal",
        "jarrab tashkeelatna el jdeeda min {product}, mawjooda el 7een fi kel el forou3",
    ]),
    ("marketing", "mixed", True, [
        "We miss you يا {aname}! صار لك فترة ما زرتنا.",
        "Refer a friend وكل واحد يسجل تاخذ credit في حسابك.",
    ]),
    ("scam_phishing", "en", True, [
        "Dear customer, your mobile wallet will be frozen today. Re-verify your ID at {link} to keep using it.",
        "Hi {name}, you've been selected for a remote job paying {amount} SAR per day. Just a small registration fee to start.",
        "This is your bank's fraud team: a transfer of {amount} SAR is pending. If it wasn't you, tell us the code we just sent.",
        "I made 8x on a new token last week. Send me 200 USDT and I'll put you in on the next one, guaranteed returns.",
        "Your package could not be delivered due to an incomplete address. Update it here: {link}",
        "Mum, my phone broke, this is my new number. Can you send me {amount} SAR urgently? I'll explain later.",
        "Tax refund of {amount} SAR approved for you. Claim before {day} at {link} with your card details.",
    ]),
    ("scam_phishing", "ar", True, [
        "عميلنا العزيز، سيتم إيقاف محفظتك الإلكترونية اليوم، يرجى إعادة التحقق من هويتك عبر {link}.",
        "مرحباً، تم اختيارك لوظيفة عن بعد براتب يومي {amount} ريال، فقط رسوم تسجيل بسيطة.",
        "ماما جوالي خرب وهذا رقمي الجديد، حولي لي {amount} ريال ضروري.",
        "استرداد ضريبي بقيمة {amount} ريال بانتظارك، أدخل بيانات بطاقتك على {link}.",
    ]),
    ("scam_phishing", "ar-gulf", True, [
        "يا أخوي معك البنك، فيه عملية مشبوهة على بطاقتك، عطني الرمز اللي وصلك عشان نلغيها.",
        "تبي دخل يومي وانت ببيتك؟ بس لايك على فيديوهات وتاخذ {amount} ريال، كلمني واتس.",
        "عندي توصية عملة جديدة بتطير، حط معي ٥٠٠ وأضمن لك الربح.",
    ]),
    ("scam_phishing", "arabizi", True, [
        "3ameelna el 3azeez, 7esabak ra7 yetwagaf el yom, 7adeth bayanatak 3ala {link}",
        "akhoy ma3ak el bank, fi 3amaliya mashbooha, 3a6eeni el code ele wslak",
        "tbi da5l yawmi w enta bbaitak? bas like 3ala videos w 5ud {amount} riyal",
        "3endi tawseya 3omla jdeeda bet6eer, 7e6 ma3i 500 w adman lak el rbe7",
        "mama jawali 5arban, hatha ra8mi el jdeed, 7awli li {amount} daroori",
        "shu7natak mo3allaga bel jamarek, edfa3 {amount} riyal 3ala {link}",
    ]),
    ("scam_phishing", "mixed", True, [
        "Dear customer، حسابك البنكي suspended، please update بياناتك على {link}.",
    ]),
    ("gambling", "en", True, [
        "Weekend accumulator: {team}, {team} and {team} to win. Put 50 on it, take home 2,000.",
        "New players get 100 free spins and a matched deposit at Golden Palace. Sign up in 30 seconds.",
        "Fantasy league with cash prizes: pick your XI and win up to {amount} SAR every round.",
    ]),
    ("gambling", "arabizi", True, [
        "7e6 rehanak 3ala {team} el lela w 5ud el odds el 3alya",
        "casino online jdeed, 100 free spins awwal ma tsajjel",
    ]),
    ("bulk_campaign", "arabizi", True, [
        "ensher hal resala b kel el groups w lak el ajer",
        "dezzaha la kel el contacts 3endak, lazem twsal la akbar 3adad",
    ]),
]

ALLOW += [
    ("support", "en", False, [
        "Hi {name}, good morning! How can I help you today?",
        "Good evening {name}, thanks for waiting. Let me check that for you.",
        "Hello {name}, sure — one moment please.",
        "Hi {name}, happy to help. Which branch did you visit?",
        "Morning {name}! Your technician is on the way, arriving around {time}.",
    ]),
    ("support", "arabizi", False, [
        "hala {zname}, kef a8dar asa3dak el yom?",
        "ahlan {zname}, la7tha w ashayyek lak 3al talab",
        "tamam, wasalatna el sowar, ra7 nbaddel lak el 8e6a3a",
        "el fanni bywsal 3endak el sa3a {time} en sha2 allah",
        "ma fi moshkela, 7ajzak t7awwal la yom {day}",
        "3afwan 3al ta2kheer, el talab ra7 ywsal bokra",
    ]),
    ("internal", "arabizi", True, [
        "ya shabab el ijtima3 ta3 fareeg el mabee3at bokra el sa3a 9",
        "mabrook 3al tar2iya ya {zname}, tastaheqha",
        "el taqreer el shahri lel mabee3at jahez 3al drive",
    ]),
    ("notice", "arabizi", False, [
        "el far3 msakkar yom {day} lel siyana, nefta7 3adi ba3deha",
        "el dawam fi ramadan min 10 el sob7 la 4 el 3a9r",
    ]),
    ("order", "arabizi", True, [
        "el 5asm ele sta5damto ettabba2 3ala talabak ra8am {order}",
        "talabak ra8am {order} jahez, el tawseel majjani le2anno fog {amount}",
    ]),
    ("account", "arabizi", True, [
        "no2a6ak fi bar7amaj el wala2: {amount} no2ta, ba3dha tentehi a5er el sana",
    ]),
    ("order", "en", True, [
        "Your order #{order} is confirmed. The {pct}% off from your voucher was applied; you paid {amount} SAR.",
        "We've added the free gift you qualified for to order {order}; it ships with the rest.",
        "Order {order} has shipped. Since it was over {amount} SAR, delivery was free.",
    ]),
    ("billing", "en", True, [
        "Your loyalty summary: 640 points earned this quarter, 120 expiring on {day}. No action needed.",
        "Receipt for {amount} SAR. Your gift card balance of 50 SAR was applied first.",
    ]),
    ("internal", "en", True, [
        "Reminder: the marketing team's campaign review moved to {day} at {time}. Bring the discount figures.",
        "HR: your offer letter and contract for the new role are in your inbox. Please sign and return by {day}.",
        "Finance: the supplier invoice for the promotion banners is approved for payment.",
    ]),
    ("shipping", "en", True, [
        "Your parcel is at customs in {city}; clearance usually takes 1-2 days and no extra fee is due.",
        "Customs clearance completed for shipment {order}. It will be delivered on {day}.",
    ]),
    ("appointment", "en", True, [
        "Your facial on {day} at {time} is booked using the spa voucher you purchased. See you then!",
    ]),
    ("support", "ar-gulf", True, [
        "أبشر يا {aname}، بنرسل لك البديل ببلاش لأن الغلط منا.",
        "التوصيل علينا هالمرة لأن الطلب تأخر، السموحة منك.",
        "هلا {aname}، الكوبون اللي معك ينفع على الطلب الحالي، بس دخله وقت الدفع.",
    ]),
    ("order", "ar", True, [
        "تم تأكيد طلبك رقم {order}، وتم تطبيق خصم القسيمة، المبلغ المدفوع {amount} ريال.",
        "أضفنا الهدية المجانية المستحقة إلى طلبك رقم {order} وستشحن معه.",
    ]),
    ("shipping", "ar", True, [
        "شحنتك لدى الجمارك في {acity}، ويستغرق التخليص يوماً أو يومين دون رسوم إضافية.",
    ]),
    ("internal", "ar", True, [
        "الموارد البشرية: تم إرسال عرض العمل والعقد إلى بريدك، يرجى التوقيع قبل {aday}.",
    ]),
]

# --- tenth batch (2026-12-01, same day; more of what cross-validation
# still missed, and allowed look-alikes) -----------------------------------

REFUSE += [
    ("cold_outreach", "en", True, [
        "Hello {name}, I lead business development at a cleaning company. We already serve two clinics on your street — could we visit?",
        "Hi there, apologies for the direct message. We install solar panels for commercial roofs in {city}. May I call you on {day}?",
        "Dear {name}, my agency manages Google ads for cafés. Would you be open to hearing how we doubled walk-ins for a client?",
        "Hi {name}, we noticed {shop} doesn't have online booking yet. We set it up in a day; fancy a demo?",
        "Greetings! We are a wholesale coffee roaster and would like to offer your café a tasting of our beans.",
        "Hello, a friend at the chamber of commerce gave me your number. We provide payroll software for SMEs and I'd love to introduce it.",
    ]),
    ("cold_outreach", "ar", True, [
        "مرحباً أستاذ {aname}، نحن شركة إعلانات رقمية ونود مساعدتكم في زيادة زوار متجركم، متى يناسبك اتصال قصير؟",
        "السلام عليكم، اعتذر عن الرسالة المباشرة، نحن نركب أنظمة الطاقة الشمسية للمباني التجارية، هل يمكن ترتيب زيارة؟",
        "تحية طيبة، نحن محمصة قهوة بالجملة ونرغب بتقديم عينات مجانية لمقهاكم.",
        "أعطاني أحد الأصدقاء في الغرفة التجارية رقمك، نحن نقدم برنامج رواتب للمنشآت الصغيرة ونود التعريف به.",
    ]),
    ("cold_outreach", "ar-gulf", True, [
        "هلا والله، احنا شركة تنظيف ونخدم عيادتين بشارعكم، ودنا نمر عليكم ونعطيكم عرض سعر.",
        "السلام عليكم أخوي، ما عندكم حجز أونلاين؟ نسويه لكم بيوم واحد، تبي أوريك؟",
    ]),
    ("cold_outreach", "arabizi", True, [
        "hala akhoy, e7na sharikat tan6eef w nkhdem 3eyadtain b share3kom, wddna nmor 3alaikom",
        "salam, ma 3endkom 7ajz online? nsawweeh lakom b yom wa7ed, tbi awareek?",
        "marhaba {zname}, e7na ma7masat gahwa bel jomla w 7abeen n3a6eekom 3ayyenat",
    ]),
    ("political", "en", True, [
        "Remember who kept the clinic open during the crisis. On {day}, {cand} is counting on you.",
        "Volunteers needed this weekend to knock on doors for {cand}. Reply YES to join the campaign team.",
        "Stand with us against the new zoning law — the protest starts at 5 PM outside the municipality.",
        "{cand} will be at the majlis on {day} evening to hear your concerns. Come and show your support.",
    ]),
    ("political", "ar", True, [
        "تذكروا من أبقى المستوصف مفتوحاً وقت الأزمة، يوم {aday} {acand} يعتمد عليكم.",
        "نحتاج متطوعين هذا الأسبوع لحملة {acand}، أرسل نعم للانضمام.",
        "{acand} في المجلس مساء {aday} ليستمع لكم، احضروا وأظهروا دعمكم.",
    ]),
    ("political", "ar-gulf", True, [
        "يا عيال الديرة، {acand} ما قصر معنا، يوم {aday} نرد له الجميل.",
        "تعالوا المقر الليلة نبي نرتب لحملة {acand}، كل واحد يجيب معه اثنين.",
    ]),
    ("political", "arabizi", True, [
        "ya 3yal el deera, {cand} ma 8a9ar ma3na, yom {day} nrod lah el jameel",
        "ta3alo el ma8arr el lela nrattib 7amlat {cand}, kel wa7ed yjeeb ma3ah ithnain",
    ]),
    ("scam_phishing", "en", True, [
        "Hello, this is the HR department. Please confirm your salary account by replying with your card number and expiry date.",
        "Final notice: your water supply will be cut today unless the balance is paid at {link}.",
        "Congratulations {name}, your number was drawn in our anniversary giveaway! Pay the {amount} SAR delivery fee to receive your {product}.",
        "Investment opportunity: 5% daily returns, fully managed. Only 10 places left — message me to join.",
        "Your Apple ID was locked for security reasons. Unlock it at {link} within 24 hours.",
    ]),
    ("scam_phishing", "ar", True, [
        "معك قسم الموارد البشرية، يرجى تأكيد حساب الراتب بإرسال رقم بطاقتك وتاريخ انتهائها.",
        "إشعار أخير: سيتم قطع الكهرباء اليوم ما لم يتم سداد المبلغ عبر {link}.",
        "مبروك، رقمك فاز في سحب الذكرى السنوية! ادفع {amount} ريال رسوم التوصيل لاستلام جائزتك.",
        "فرصة استثمارية بعائد يومي ٥٪ مضمون، باقي ١٠ مقاعد فقط، راسلني للانضمام.",
    ]),
    ("scam_phishing", "arabizi", True, [
        "ma3ak 8esm el mawared el bashariya, akked 7esab el ratib b ersal ra8am ba6a8tak",
        "mabrook ra8mak faz bel sa7b! edfa3 {amount} riyal rosoom tawseel w estalem jaeztak",
        "fo9a esteth'mariya 3a2ed yawmi 5% madmoon, ba8i 10 ma8a3ed bas",
    ]),
    ("promotion", "en", True, [
        "Only a few hours left to grab {product} at yesterday's price. After midnight it's gone.",
        "Your appointment on {day} is booked — add a second service at the same visit and pay half for it!",
        "It's payday! Treat yourself: {shop} has something special waiting for you until {day}.",
        "New month, new deals: check what's waiting for you in the app today.",
    ]),
    ("promotion", "ar", True, [
        "باقي ساعات فقط وترجع الأسعار كما كانت، اطلب {aproduct} الآن.",
        "تم حجز موعدك يوم {aday}، أضف خدمة ثانية في نفس الزيارة وادفع نصف سعرها!",
        "نزل الراتب؟ دلّل نفسك، {ashop} مجهز لك مفاجأة حتى {aday}.",
    ]),
    ("promotion", "arabizi", True, [
        "ba8i sa3at bas w ترجع el as3ar mithel ma kanat, la tfawwet",
        "nezal el ratib? dallel nafsak, {shop} mjahhez lak mofaja2a 7atta {day}",
        "ista5dem el code {code} w 5od {pct}% 3ala talabak el jay",
        "el 3ard shaghal 7atta el 5amees, el {product} b se3r ma tlgaah b makan thani",
    ]),
    ("marketing", "en", True, [
        "We noticed you haven't opened the app in a while. Here's what you've been missing at {shop}.",
        "Your opinion matters! Vote for our next flavour and be the first to taste it at {shop}.",
        "Tag us in your photos with #{shop} for a chance to be featured on our page.",
    ]),
    ("marketing", "ar", True, [
        "لاحظنا أنك لم تفتح التطبيق منذ فترة، هذا ما فاتك في {ashop}.",
        "شاركنا صورك مع وسم {ashop} لتظهر على صفحتنا.",
    ]),
    ("gambling", "ar", True, [
        "حاس إنك محظوظ؟ أول رهان علينا في تطبيقنا، سجل الحين.",
        "توقعات مباريات الليلة مضمونة ١٠٠٪، اشترك بالقناة وابدأ الربح.",
    ]),
    ("bulk_campaign", "en", True, [
        "Copy and paste this to your status and send it to ten friends within the hour.",
        "Kindly circulate this among your family groups and colleagues; it must reach everyone by tonight.",
    ]),
    ("bulk_campaign", "ar", True, [
        "انسخ الرسالة وأرسلها لعشرة من أصدقائك خلال ساعة.",
        "يرجى تعميمها على مجموعات العائلة والزملاء لتصل للجميع الليلة.",
    ]),
]

ALLOW += [
    ("support", "en", False, [
        "Good morning {name}!",
        "All sorted, {name}. Anything else I can do?",
        "Noted, thanks {name}. We'll call you back before {time}.",
        "We couldn't find a reservation under this number — could you check the name it was made under?",
        "Thanks {name}, we've received the photos and will replace the item at no charge.",
    ]),
    ("support", "ar", True, [
        "بخصوص القطعة المخفضة التي أرجعتها: يمكننا استبدالها فقط حسب سياسة الاسترجاع.",
        "حسب اتفاقنا الهاتفي، ينتهي السعر التعريفي لاشتراكك يوم {aday} ثم يطبق السعر المعتاد.",
        "الكوبون اللي عندك صالح لين آخر الشهر، تقدر تستخدمه على أي طلب.",
    ]),
    ("notice", "en", True, [
        "Election day: the branch is closed; our hotline stays open for emergencies.",
        "The board will vote on the new budget at Thursday's meeting; agenda attached.",
        "Road closures near the stadium tonight may delay deliveries; we'll keep you posted.",
    ]),
    ("notice", "ar", True, [
        "يوم الانتخابات الفرع مغلق، وخط الطوارئ يعمل كالمعتاد.",
        "سيصوت مجلس الإدارة على الميزانية الجديدة في اجتماع الخميس، جدول الأعمال مرفق.",
    ]),
    ("notice", "arabizi", True, [
        "yom el enti5abat el far3 msakkar, w 5a6 el 6awari2 shaghal",
        "majles el edara ra7 y9awwet 3ala el mizaniya yom el 5amees",
    ]),
    ("account", "en", True, [
        "A new sign-in to your account from {city}. If this wasn't you, reset your password; we will never ask for your code.",
        "Your annual tax certificate for your savings account is ready to download in the app.",
        "Your investment statement for Q3 is ready: return of 2.1% for the quarter.",
    ]),
    ("account", "arabizi", True, [
        "fi tasjeel do5ool jdeed la 7esabak men {city}, eza mo enta ghayyer el password",
        "kashf 7esab el estethmar lel rob3 el thaleth jahez fi el app",
    ]),
    ("otp", "en", True, [
        "Never share this code with anyone: {otp}",
        "Your code to redeem the free drink you earned is {otp}. Show it at the counter.",
    ]),
    ("billing", "ar", True, [
        "تم تطبيق خصم ١٠٪ على فاتورتك رقم {order}، والإجمالي الجديد {amount} ريال.",
        "سعر تذكرتك يشمل خصم الطلاب، ومقعدك 14C.",
    ]),
    ("billing", "arabizi", True, [
        "tam ta6bee8 5asm el 6ullab 3ala tathkartak, w ma8'3adak 14C",
        "fatortak ra8am {order} 3aleeha 5asm 10%, el majmoo3 {amount} riyal",
    ]),
    ("internal", "ar", True, [
        "مبروك الترقية يا {aname}، الخطاب عند الموارد البشرية.",
        "فريق المبيعات: الهدف الشهري للعروض في الملف المشترك، حدثوا أرقامكم قبل {aday}.",
    ]),
    ("internal", "en", True, [
        "Congrats on the promotion, {name}! HR has your letter.",
        "Sales team, please take down the old discount posters before {day}.",
    ]),
    ("health", "ar", False, [
        "موعد تطعيم طفلك القادم بعد أسبوعين، يرجى إحضار بطاقة التطعيم.",
    ]),
    ("order", "ar", True, [
        "عرض الحزمة الذي اخترته عند الدفع ظاهر في طلبك رقم {order}.",
    ]),
]

# --- eleventh batch (2026-12-01): political, scam and Arabizi wording ---

REFUSE += [
    ("political", "en", True, [
        "Our neighbourhood needs a voice on the council. Be there on {day} and make it {cand}.",
        "Four more years of broken promises? Not if we all turn out on {day}.",
        "Proud to support {cand}. Share this and tell your family where to vote.",
        "The candidate who listens: {cand}. Polling stations open 8 AM on {day}.",
        "Attend the town hall with {cand} tonight and ask your questions — refreshments served.",
    ]),
    ("political", "ar", True, [
        "حينا يحتاج صوتاً في المجلس البلدي، كونوا هناك يوم {aday} واختاروا {acand}.",
        "أربع سنوات أخرى من الوعود؟ ليس إذا خرجنا جميعاً للتصويت يوم {aday}.",
        "احضر اللقاء المفتوح مع {acand} الليلة واطرح أسئلتك.",
        "فخورون بدعم {acand}، شاركها وأخبر عائلتك بمكان التصويت.",
    ]),
    ("political", "arabizi", True, [
        "7ayyna y7taj 9awt fel majles, kono hnak yom {day} w e5taro {cand}",
        "e7dhar el le8a2 el maftoo7 ma3a {cand} el lela w es2al as2eltak",
        "fa5oreen b da3m {cand}, sharekha w 5abber 3a2eltak wain yessawton",
    ]),
    ("political", "mixed", True, [
        "Town hall الليلة مع {acand}، تعالوا وshow your support.",
    ]),
    ("scam_phishing", "en", True, [
        "We tried to refund {amount} SAR to your card but it failed. Enter your card details at {link} to receive it.",
        "Hi, I'm a recruiter for an online store. Part-time task work, {amount} SAR a day, paid via USDT. Interested?",
        "Your SIM will be deactivated in 24 hours. Reply with the 6-digit code we sent to keep your number.",
        "Dad, it's me, I'm using a friend's phone. I need {amount} SAR right now, please transfer to this account.",
    ]),
    ("scam_phishing", "ar", True, [
        "حاولنا إعادة {amount} ريال إلى بطاقتك ولم تنجح العملية، أدخل بيانات البطاقة على {link} لاستلامها.",
        "سيتم إيقاف شريحتك خلال ٢٤ ساعة، أرسل الرمز المكون من ٦ أرقام للاحتفاظ برقمك.",
        "يبه هذا أنا من جوال صديقي، أحتاج {amount} ريال الحين، حولها على هالحساب.",
    ]),
    ("scam_phishing", "arabizi", True, [
        "7awalna nerja3 {amount} riyal la ba6a8tak w ma zabe6, da55el bayanat el ba6a8a 3ala {link}",
        "shree7tak ra7 tet3a66al 5ilal 24 sa3a, ersel el code ele wslak",
        "yuba hatha ana men jawal sa7bi, a7taj {amount} riyal el 7een",
        "sh8l part time min el bait, {amount} yomiyan, el daf3 USDT, mohtam?",
    ]),
    ("promotion", "arabizi", True, [
        "yalla {zname}! 3ardna el jdeed: eshtri wa7ed w el thani majjanan",
        "5asm {pct}% 3ala kel el {product} lel weekend bas",
        "el tawseel 3alaina kel el osboo3, otlob el 7een",
        "a5er yom lel ta5fee6at, ba3d el lela el as3ar terja3",
    ]),
    ("marketing", "arabizi", True, [
        "nazzel el app el jdeed w shoof el 3roodh el 5assa fee",
        "sajjel fi bar7amaj el wala2 w eksab no8a6 ma3 kel zyara",
    ]),
    ("cold_outreach", "mixed", True, [
        "Good morning، احنا supplier للأثاث المكتبي، نقدر نزوركم this week؟",
        "Hi {aname}، I run a digital agency ونبي نساعدكم تزيدون الطلبات online.",
    ]),
    ("bulk_campaign", "mixed", True, [
        "Please forward هذي الرسالة لكل الـ contacts عندك، important جداً.",
    ]),
]

ALLOW += [
    ("support", "mixed", False, [
        "Hi {aname}، طلبك رقم {order} on the way وبيوصلك اليوم.",
        "تم استلام الـ complaint حقك، ticket number {order}.",
    ]),
    ("support", "arabizi", True, [
        "el coupon ele 3endak shaghal la a5er el shahr, ista5dmo wagt ma tbi",
        "el 8e6a3a ele 3aleeha 5asm w rajja3taha: n8dar nbaddelha bas",
        "el tawseel 3alaina hal marra 3ashan el ta2kheer, el sami7a",
    ]),
    ("order", "en", True, [
        "The buy-2-get-1 bundle you picked at checkout is reflected on order {order}.",
        "Your pre-order is confirmed; the launch price you reserved is locked in.",
    ]),
    ("internal", "mixed", True, [
        "Team، الـ offer letter للموظف الجديد جاهز، please وقعوا قبل {aday}.",
    ]),
]

# --- twelfth batch (2026-12-01): allowed messages that carry links, so a
# link alone is no sign of a scam (3CX chat forwards media as URLs) -----

ALLOW += [
    ("support", "en", False, [
        "Here is the photo of the damaged part: https://files.{link}/img/4471.jpg",
        "As discussed, the manual is here: https://support.example.com/manuals/{order}.pdf",
        "Sending the screenshot now https://pbx.example.com/f/{order}.png",
        "Our location on the map: https://maps.google.com/?q=24.71,46.67 — see you at {time}.",
        "Join the video call with the technician at https://meet.example.com/{order} on {day}.",
    ]),
    ("shipping", "en", False, [
        "Track your parcel here: https://track.example.com/{order}. Expected delivery {day}.",
        "Your courier's live location: https://go.example.sa/t/{order}",
    ]),
    ("billing", "en", False, [
        "Your invoice {order} for {amount} SAR: https://billing.example.com/inv/{order}.pdf",
        "Pay invoice {order} securely in your account at https://portal.example.com/invoices (we never ask for card details by WhatsApp).",
    ]),
    ("appointment", "en", False, [
        "Your booking on {day} at {time} is confirmed. Directions: https://maps.app.goo.gl/{code}",
    ]),
    ("support", "ar", False, [
        "هذه صورة القطعة التالفة: https://files.example.com/img/{order}.jpg",
        "رابط تتبع شحنتك: https://track.example.com/{order}، والتسليم المتوقع {aday}.",
        "فاتورتك رقم {order}: https://billing.example.com/inv/{order}.pdf",
        "موقعنا على الخريطة: https://maps.google.com/?q=24.71,46.67",
    ]),
    ("support", "arabizi", False, [
        "hathi soorat el 8e6a3a: https://files.example.com/img/{order}.jpg",
        "rabe6 tatabbo3 el shu7na: https://track.example.com/{order}",
    ]),
    ("support", "mixed", False, [
        "الصورة attached هنا https://pbx.example.com/f/{order}.jpg",
        "Tracking link لشحنتك: https://track.example.com/{order}",
    ]),
]
