"""Indonesian text of the portal, keyed by the English the templates use.
Add a line here with every new English string; a missing one shows in English."""

MESSAGES = {
    "Helpdesk": "Layanan Bantuan",
    "Language": "Bahasa",
    "Log in": "Masuk",
    "Log out": "Keluar",
    "Email": "Email",
    "Password": "Kata sandi",
    "Page not found": "Halaman tidak ditemukan",
    "The page does not exist, or you may not see it.": "Halaman tidak ada, atau Anda tidak berhak melihatnya.",
    "Something went wrong on our side. Please try again in a moment.":
        "Terjadi kesalahan di pihak kami. Silakan coba lagi sebentar lagi.",
    "Skip to content": "Langsung ke isi",
}
